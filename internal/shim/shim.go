package shim

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/version"
)

// Exit codes of hwcap-shim itself; any other code is the command's.
const (
	ExitShimError     = 125 // bad usage or mask, or mask refused under enforce
	ExitNotExecutable = 126
	ExitNotFound      = 127
)

// Environment variables read (and removed before exec).
const (
	EnvAllow   = "HWCAP_ALLOW"
	EnvDeny    = "HWCAP_DENY"
	EnvProfile = "HWCAP_PROFILE"
	EnvMask    = "HWCAP_MASK"
	EnvPolicy  = "HWCAP_POLICY"
	EnvRunDir  = "HWCAP_RUN_DIR"
)

// Settings is a parsed command line.
type Settings struct {
	Spec    hwcap.Spec
	Policy  hwcap.Policy
	RunDir  string
	Command []string
}

// beforeExec is a test hook (see testhooks.go); nothing in production.
var beforeExec = func() {}

// Main runs the shim and returns an exit code if it does not exec.
func Main(args []string, stderr io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "hwcap-shim: "+format+"\n", a...)
		return code
	}
	s, err := Parse(args, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, usage)
		return 0
	}
	if err != nil {
		return fail(ExitShimError, "%v", err)
	}
	path, err := exec.LookPath(s.Command[0])
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EACCES) {
			return fail(ExitNotExecutable, "%s: permission denied", s.Command[0])
		}
		return fail(ExitNotFound, "%s: command not found (searched PATH=%s)", s.Command[0], os.Getenv("PATH"))
	}
	// No mask: nothing to apply or probe, just exec.
	if !s.Spec.IsZero() {
		t, err := hwcap.Host()
		if err != nil {
			return fail(ExitShimError, "%v", err)
		}
		keep, err := s.Spec.Keep(t)
		if err != nil {
			return fail(ExitShimError, "%v", err)
		}
		out, err := enforce.MaskSelf(keep, s.Policy, s.RunDir)
		if err != nil {
			return fail(ExitShimError, "refusing to start %s under policy enforce: %v (use --policy warn to start it unmasked)", s.Command[0], err)
		}
		if out.Decision == hwcap.DecisionWarned {
			fmt.Fprintf(stderr, "hwcap-shim: warning: starting %s without a working mask (backend %s): %s\n", s.Command[0], out.Backend, out.Reason)
		}
	}
	beforeExec()
	err = unix.Exec(path, s.Command, cleanEnv(os.Environ()))
	if errors.Is(err, unix.ENOENT) {
		return fail(ExitNotFound, "exec %s: %v", path, err)
	}
	return fail(ExitNotExecutable, "exec %s: %v", path, err)
}

// cleanEnv drops the shim's own settings.
func cleanEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case EnvAllow, EnvDeny, EnvProfile, EnvMask, EnvPolicy, EnvRunDir:
			continue
		}
		out = append(out, kv)
	}
	return out
}

const usage = `usage: hwcap-shim [--allow LIST | --deny LIST | --profile FILE | --mask RAW]
                  [--policy enforce|warn] [--run-dir DIR] -- CMD [ARGS...]

Masks the AT_HWCAP* words of this process and its descendants (through the
kernel's HWCAP inheritance series, or hwcap's eBPF backend), then execs CMD.
  --allow LIST     keep only these features (comma-separated /proc/cpuinfo names)
  --deny LIST      hide these features
  --profile FILE   keep only the features of a profile file (hwcap.dev/v1 JSON)
  --mask RAW       AND the words with raw values: hwcap=0x...,hwcap2=0x...
  --policy P       enforce (default): refuse to start CMD if the kernel does not
                   pass masks on; warn: start it anyway with a warning
  --run-dir DIR    probe cache directory (default /run/hwcap)
  --version        print the version and exit
Environment: HWCAP_ALLOW, HWCAP_DENY, HWCAP_PROFILE, HWCAP_MASK, HWCAP_POLICY,
HWCAP_RUN_DIR stand for the flags and are removed before CMD runs.
Exit codes: 125 shim error or refusal, 126 CMD not executable, 127 CMD not
found; otherwise CMD's own.
`

// Parse reads the command line and the environment (getenv).
func Parse(args []string, getenv func(string) string) (*Settings, error) {
	fs := flag.NewFlagSet("hwcap-shim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	allow := fs.String("allow", "", "")
	deny := fs.String("deny", "", "")
	profile := fs.String("profile", "", "")
	mask := fs.String("mask", "", "")
	policy := fs.String("policy", "", "")
	runDir := fs.String("run-dir", "", "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (see hwcap-shim --help)", err)
	}
	if *showVersion {
		return nil, fmt.Errorf("%w: version %s", flag.ErrHelp, version.Version)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	pick := func(name, env string, v *string) (string, string) {
		if set[name] {
			return *v, "--" + name
		}
		if e := getenv(env); e != "" {
			return e, env
		}
		return "", ""
	}
	s := &Settings{}
	if v, src := pick("allow", EnvAllow, allow); src != "" {
		names, err := hwcap.ParseList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		s.Spec.Allow = names
	}
	if v, src := pick("deny", EnvDeny, deny); src != "" {
		names, err := hwcap.ParseList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		s.Spec.Deny = names
	}
	if v, src := pick("mask", EnvMask, mask); src != "" {
		w, _, err := hwcap.ParseRaw(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		s.Spec.Raw = &w
	}
	if v, src := pick("profile", EnvProfile, profile); src != "" {
		p, err := readProfile(v)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", src, v, err)
		}
		s.Spec.Profile = p
	}
	if err := s.Spec.Validate(); err != nil {
		return nil, err
	}
	s.Policy = hwcap.Enforce
	if v, src := pick("policy", EnvPolicy, policy); src != "" {
		p, err := hwcap.ParsePolicy(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		s.Policy = p
	}
	s.RunDir = probe.DefaultDir
	if v, src := pick("run-dir", EnvRunDir, runDir); src != "" {
		s.RunDir = v
	}
	s.Command = fs.Args()
	if len(s.Command) == 0 || s.Command[0] == "" {
		return nil, errors.New("no command given (usage: hwcap-shim [flags] -- CMD [ARGS...])")
	}
	return s, nil
}

func readProfile(path string) (*hwcap.Profile, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", hwcap.ErrBadProfile)
	}
	return hwcap.ParseProfile(f)
}
