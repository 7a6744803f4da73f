package hook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// bundleMounts writes a config.json with args and mounts.
func bundleMounts(t *testing.T, args []string, mounts []specs.Mount) string {
	t.Helper()
	dir := t.TempDir()
	data, _ := json.Marshal(map[string]any{"ociVersion": "1.0.2", "process": map[string]any{"args": args, "cwd": "/"}, "mounts": mounts})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGuardShimMustBeTheNodesShim (issue 16, also): process.args[0] named
// /.hwcap-shim (or shimPath) is the node's shim only when config.json
// bind-mounts shimPath there read-only; otherwise it is a file of the
// image, which may mask nothing.
func TestGuardShimMustBeTheNodesShim(t *testing.T) {
	const shimPath = "/usr/local/bin/hwcap-shim"
	args := []string{ShimMountPath, "--deny", "sve", "--policy", "enforce", "--", "app"}
	ro := func(dst, src string, opts ...string) specs.Mount {
		return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: append([]string{"rbind"}, opts...)}
	}
	for name, tc := range map[string]struct {
		args   []string
		mounts []specs.Mount
		ok     bool
		stderr string
	}{
		"mounted ro":        {args, []specs.Mount{ro(ShimMountPath, shimPath, "ro", "nosuid")}, true, ""},
		"shimPath mounted":  {append([]string{shimPath}, args[1:]...), []specs.Mount{ro(shimPath, shimPath, "ro")}, true, ""},
		"not mounted":       {args, nil, false, "is not the node's hwcap-shim: config.json does not bind-mount " + shimPath + " (shimPath) there"},
		"shimPath in image": {append([]string{shimPath}, args[1:]...), nil, false, "is not the node's hwcap-shim"},
		"other source":      {args, []specs.Mount{ro(ShimMountPath, "/tmp/fake-shim", "ro")}, false, `source "/tmp/fake-shim"`},
		"writable":          {args, []specs.Mount{ro(ShimMountPath, shimPath)}, false, "not read-only"},
		"ro then rw":        {args, []specs.Mount{ro(ShimMountPath, shimPath, "ro", "rw")}, false, "not read-only"},
		"not a bind":        {args, []specs.Mount{{Destination: ShimMountPath, Type: "tmpfs", Source: shimPath, Options: []string{"ro"}}}, false, "not a bind mount"},
		"shadowed later":    {args, []specs.Mount{ro(ShimMountPath, shimPath, "ro"), ro(ShimMountPath, "/tmp/fake-shim", "ro")}, false, `source "/tmp/fake-shim"`},
		"relative dest":     {args, []specs.Mount{ro(".hwcap-shim", shimPath, "ro")}, true, ""},
		"unclean arg":       {append([]string{"//.hwcap-shim"}, args[1:]...), []specs.Mount{ro(ShimMountPath, shimPath, "ro")}, true, ""},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, hwcap.Enforce)
			f.inherits = true
			f.node.ShimPath = shimPath
			f.pidWords[pid] = hostWords
			h, _, errb := f.hook(sample(t, samples[0], bundleMounts(t, tc.args, tc.mounts), pid, nil))
			code := h.Run([]string{StageCreateRuntime})
			got := logDecisions(t, f.node.LogFile)
			if tc.ok {
				if code != ExitOK || len(got) != 1 || got[0] != StageCreateRuntime+"=shim" {
					t.Fatalf("exit %d log %v, want the shim accepted: %s", code, got, errb)
				}
				return
			}
			if code != ExitRefused || len(got) != 1 || got[0] != StageCreateRuntime+"=refused" {
				t.Fatalf("exit %d log %v, want refused: %s", code, got, errb)
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Fatalf("stderr %q, want %q", errb, tc.stderr)
			}
		})
	}
}

// TestPrecreateRefusesForeignShim: precreate does not take an image's
// /.hwcap-shim for the node's (it would skip wrapping).
func TestPrecreateRefusesForeignShim(t *testing.T) {
	f := newFake(t, hwcap.Enforce)
	shim := filepath.Join(t.TempDir(), "hwcap-shim")
	if err := os.WriteFile(shim, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.node.ShimPath = shim
	in := `{"ociVersion":"1.0.2","process":{"args":["/.hwcap-shim","--deny","sve","--","app"]},"annotations":{"hwcap.dev/deny":"sve"}}`
	h, out, errb := f.hook(in)
	if code := h.Run([]string{StagePrecreate}); code != ExitInvalid || out.Len() != 0 || !strings.Contains(errb.String(), "is not the node's hwcap-shim") {
		t.Fatalf("exit %d out %q err %q", code, out, errb)
	}
}
