package hook

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/spec"
)

// shimCall is what a container's process.args ask hwcap-shim to do.
type shimCall struct {
	spec    hwcap.Spec
	policy  hwcap.Policy
	profile bool // --profile FILE: a file inside the image, not checkable here
}

// isShim reports whether path names the shim: the node's shimPath or the
// path precreate mounts it at. Inside the container either path is a file
// of the image unless a mount puts the node's shim there: see shimMounted.
func isShim(path, shimPath string) bool {
	if path == "" {
		return false
	}
	p := filepath.Clean(path)
	return p == ShimMountPath || (shimPath != "" && p == filepath.Clean(shimPath))
}

// shimMounted checks that path (process.args[0], one isShim accepts) is
// the node's shim in the container: the last of mounts whose destination
// is path, or is "/", must bind-mount shimPath there read-only. Without
// such a mount the path is a file of the image, which the tenant chose
// and which may mask nothing; writable, the container could replace the
// host's shim.
func shimMounted(path, shimPath string, mounts []specs.Mount) error {
	dst := filepath.Clean("/" + path)
	var last *specs.Mount
	for i := range mounts {
		d := filepath.Clean("/" + mounts[i].Destination)
		if d == dst || d == "/" {
			last = &mounts[i]
		}
	}
	notShim := func(why string) error {
		return fmt.Errorf("process.args[0] %s is not the node's hwcap-shim: %s", path, why)
	}
	if last == nil {
		return notShim(fmt.Sprintf("config.json does not bind-mount %s (shimPath) there, so it is a file of the image", shimPath))
	}
	bind, ro := false, false
	for _, o := range last.Options {
		switch o {
		case "bind", "rbind":
			bind = true
		case "ro":
			ro = true
		case "rw":
			ro = false
		}
	}
	switch {
	case filepath.Clean("/"+last.Destination) == "/":
		return notShim("a mount on / comes after it")
	case !bind:
		return notShim(fmt.Sprintf("the mount at %s is not a bind mount", dst))
	case filepath.Clean(last.Source) != filepath.Clean(shimPath):
		return notShim(fmt.Sprintf("the mount at %s has source %q, not %s (shimPath)", dst, last.Source, shimPath))
	case !ro:
		return notShim(fmt.Sprintf("the bind mount of %s at %s is not read-only", shimPath, dst))
	}
	return nil
}

// parseShimCall reads hwcap-shim's flags from args (after args[0]) with
// the fallbacks the shim itself uses: HWCAP_* variables of process.env.
// It accepts exactly the flag forms Go's flag package does.
func parseShimCall(args []string, cfg *spec.Config) (*shimCall, error) {
	vals := map[string]string{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, val, hasVal = k, v, true
		}
		switch name {
		case "allow", "deny", "mask", "profile", "policy", "run-dir":
		default:
			return nil, fmt.Errorf("hwcap-shim flag %q is not one the shim knows", a)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("hwcap-shim flag %q has no value", a)
			}
			i++
			val = args[i]
		}
		vals[name] = val
	}
	if i >= len(args) {
		return nil, fmt.Errorf("hwcap-shim is given no command")
	}
	get := func(name, env string) (string, bool) {
		if v, ok := vals[name]; ok {
			return v, true
		}
		if v := cfg.Getenv(env); v != "" {
			return v, true
		}
		return "", false
	}
	c := &shimCall{policy: hwcap.Enforce}
	if v, ok := get("allow", "HWCAP_ALLOW"); ok {
		names, err := hwcap.ParseList(v)
		if err != nil {
			return nil, fmt.Errorf("hwcap-shim --allow: %w", err)
		}
		c.spec.Allow = names
	}
	if v, ok := get("deny", "HWCAP_DENY"); ok {
		names, err := hwcap.ParseList(v)
		if err != nil {
			return nil, fmt.Errorf("hwcap-shim --deny: %w", err)
		}
		c.spec.Deny = names
	}
	if v, ok := get("mask", "HWCAP_MASK"); ok {
		w, _, err := hwcap.ParseRaw(v)
		if err != nil {
			return nil, fmt.Errorf("hwcap-shim --mask: %w", err)
		}
		c.spec.Raw = &w
	}
	if _, ok := get("profile", "HWCAP_PROFILE"); ok {
		c.profile = true
	}
	if v, ok := get("policy", "HWCAP_POLICY"); ok {
		p, err := hwcap.ParsePolicy(v)
		if err != nil {
			return nil, fmt.Errorf("hwcap-shim --policy: %w", err)
		}
		c.policy = p
	}
	if c.profile && !c.spec.IsZero() {
		return nil, fmt.Errorf("hwcap-shim is given --profile with another mask flag")
	}
	if err := c.spec.Validate(); err != nil {
		return nil, fmt.Errorf("hwcap-shim: %w", err)
	}
	return c, nil
}

// covers checks that the shim call hides at least what m hides, under a
// policy at least as strict. A --profile inside the image cannot be read
// from the host and is trusted: the image author chose it.
func (c *shimCall) covers(m *mask) error {
	if m.req.Policy == hwcap.Enforce && c.policy != hwcap.Enforce {
		return fmt.Errorf("process.args start hwcap-shim with policy %s, but the annotations ask for enforce", c.policy)
	}
	if c.profile {
		return nil
	}
	keep, err := c.spec.Keep(m.table)
	if err != nil {
		return fmt.Errorf("process.args start hwcap-shim with a mask this host cannot resolve: %w", err)
	}
	if left := m.leaks(keep); len(left) > 0 {
		return fmt.Errorf("process.args start hwcap-shim with a mask that keeps %s", strings.Join(left, " "))
	}
	return nil
}
