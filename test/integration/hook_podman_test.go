package integration

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// podman runs podman with private storage, the given hooks directory and
// the settings this machine needs (runtimes.md): runc, cgroupfs, no
// network, lowered limits (CAP_SYS_RESOURCE is missing).
type hookPodman struct {
	bin, root, hooks string
}

func newHookPodman(t *testing.T, n *hookNode) *hookPodman {
	t.Helper()
	testutil.RequireRoot(t)
	bin := testutil.RequireCommand(t, "podman")
	testutil.RequireCommand(t, "runc")
	dir := t.TempDir()
	p := &hookPodman{bin: bin, root: dir, hooks: filepath.Join(dir, "hooks.d")}
	// The examples' hooks.d files, pointed at the built hook and this
	// test's node configuration; when/stages are used as shipped.
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "examples/hooks.d/podman/*.json"))
	if err != nil || len(files) != 4 {
		t.Fatalf("examples/hooks.d/podman: %v %v", files, err)
	}
	if err := os.MkdirAll(p.hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.NewReplacer(
			"/usr/local/bin/hwcap-hook", hookBinaries(t)["hwcap-hook"],
			"/etc/hwcap/config.json", n.Config,
		).Replace(string(data)))
		if err := os.WriteFile(filepath.Join(p.hooks, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if res := testutil.Try(t, p.cmd("rm", "--all", "--force")); res.TimedOut {
			t.Error(res.Report())
		}
	})
	return p
}

func (p *hookPodman) cmd(args ...string) testutil.Cmd {
	base := []string{p.bin,
		"--root", filepath.Join(p.root, "storage"), "--runroot", filepath.Join(p.root, "runroot"),
		"--tmpdir", filepath.Join(p.root, "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file",
		"--runtime", "runc", "--hooks-dir", p.hooks,
	}
	return testutil.Cmd{Argv: append(base, args...), Timeout: 90 * time.Second}
}

func (p *hookPodman) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	res := testutil.Run(t, p.cmd(args...))
	return res.Stdout, res.Stderr, res.Err
}

// runContainer runs a named container from rootfs (kept, so that its
// config.json can be read) and returns its output.
func (p *hookPodman) runContainer(t *testing.T, name, rootfs string, ann map[string]string, cmd ...string) (string, string, error) {
	t.Helper()
	args := []string{"run", "--name", name, "--network", "none",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
	for k, v := range ann {
		args = append(args, "--annotation", k+"="+v)
	}
	args = append(args, "--rootfs", rootfs)
	return p.run(t, append(args, cmd...)...)
}

// ociConfig returns the config.json podman handed to the runtime.
func (p *hookPodman) ociConfig(t *testing.T, name string) map[string]any {
	t.Helper()
	out, _, err := p.run(t, "inspect", "--format", "{{.OCIConfigPath}}", name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func hookArgsOf(cfg map[string]any) []string {
	var out []string
	for _, a := range cfg["process"].(map[string]any)["args"].([]any) {
		out = append(out, a.(string))
	}
	return out
}

func TestHookPodmanPrecreate(t *testing.T) {
	feat := hostFeatureName(t)
	n := newHookNode(t, "enforce", true)
	p := newHookPodman(t, n)
	script := `echo ran; if [ -x /.hwcap-shim ]; then echo shim-mounted; fi; if [ -r /.hwcap-run/probe.json ]; then echo probe-shared; fi; grep -c ' /.hwcap-shim ' /proc/self/mountinfo || true`

	t.Run("wrapped", func(t *testing.T) {
		rootfs := testutil.BusyboxRootfs(t)
		stdout, stderr, err := p.runContainer(t, "hwcap-wrapped", rootfs,
			map[string]string{"hwcap.dev/deny": feat, "hwcap.dev/policy": "warn"}, "/bin/sh", "-c", script)
		if err != nil {
			t.Fatalf("podman run: %v", err)
		}
		// From inside: the shim is mounted, and it ran as the entrypoint
		// (its warning is the container's stderr: this kernel does not
		// pass masks on, so under warn it starts the command unmasked).
		if got := strings.Fields(stdout); strings.Join(got, " ") != "ran shim-mounted probe-shared 1" {
			t.Fatalf("container output %q", stdout)
		}
		if !strings.Contains(stderr, "hwcap-shim: warning: starting /bin/sh without a working mask") {
			t.Fatalf("the shim did not run as the entrypoint: %q", stderr)
		}
		cfg := p.ociConfig(t, "hwcap-wrapped")
		args := hookArgsOf(cfg)
		want := []string{"/.hwcap-shim", "--mask", "", "--policy", "warn", "--run-dir", "/.hwcap-run", "--", "/bin/sh", "-c", script}
		if len(args) != len(want) || args[0] != want[0] || !strings.HasPrefix(args[2], "hwcap=0x") || strings.Join(args[3:], "\x00") != strings.Join(want[3:], "\x00") {
			t.Fatalf("process.args = %q", args)
		}
		eff := cfg["annotations"].(map[string]any)["hwcap.dev/effective"]
		if eff != args[2] {
			t.Fatalf("hwcap.dev/effective = %v, want %s", eff, args[2])
		}
		var found bool
		for _, m := range cfg["mounts"].([]any) {
			mm := m.(map[string]any)
			if mm["destination"] == "/.hwcap-shim" {
				found = mm["source"] == hookBinaries(t)["hwcap-shim"] && strings.Contains(strings.Join(hookStrings(mm["options"]), ","), "ro")
			}
		}
		if !found {
			t.Fatalf("no read-only bind mount of the shim in %v", cfg["mounts"])
		}
		// The host's probe cache, read-only, so the shim does not probe
		// again in every container.
		found = false
		for _, m := range cfg["mounts"].([]any) {
			mm := m.(map[string]any)
			if mm["destination"] == "/.hwcap-run/probe.json" {
				found = mm["source"] == filepath.Join(n.RunDir, "probe.json") && strings.Contains(strings.Join(hookStrings(mm["options"]), ","), "ro")
			}
		}
		if !found {
			t.Fatalf("no read-only bind mount of the host's probe cache in %v", cfg["mounts"])
		}
		// precreate wrapped, createRuntime saw the shim and warned
		// (kernel without support), poststart warned or found it exited.
		var stages []string
		for _, r := range n.records(t) {
			stages = append(stages, r["stage"].(string)+"="+r["decision"].(string))
		}
		if len(stages) < 2 || stages[0] != "precreate=wrapped" || stages[1] != "createRuntime=warned" {
			t.Fatalf("log: %v", stages)
		}
	})

	t.Run("unannotated unchanged", func(t *testing.T) {
		before := len(n.records(t))
		rootfs := testutil.BusyboxRootfs(t)
		stdout, _, err := p.runContainer(t, "hwcap-plain", rootfs, nil, "/bin/sh", "-c", script)
		if err != nil {
			t.Fatalf("podman run: %v", err)
		}
		if got := strings.Fields(stdout); strings.Join(got, " ") != "ran 0" {
			t.Fatalf("container output %q", stdout)
		}
		cfg := p.ociConfig(t, "hwcap-plain")
		if args := hookArgsOf(cfg); strings.Join(args, "\x00") != strings.Join([]string{"/bin/sh", "-c", script}, "\x00") {
			t.Fatalf("process.args changed: %q", args)
		}
		if _, ok := cfg["annotations"].(map[string]any)["hwcap.dev/effective"]; ok {
			t.Fatal("effective annotation on an unannotated container")
		}
		if _, err := os.Stat(filepath.Join(rootfs, ".hwcap-shim")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("mount point created: %v", err)
		}
		if after := len(n.records(t)); after != before {
			t.Fatalf("hook logged for an unannotated container")
		}
	})

	t.Run("enforce refused", func(t *testing.T) {
		rootfs := testutil.BusyboxRootfs(t)
		stdout, stderr, err := p.runContainer(t, "hwcap-enforce", rootfs,
			map[string]string{"hwcap.dev/deny": feat}, "/bin/sh", "-c", "echo ran")
		if err == nil || strings.Contains(stdout, "ran") {
			t.Fatalf("container ran under enforce: %q", stdout)
		}
		if !strings.Contains(stderr, "so hwcap-shim cannot mask the container") || !strings.Contains(stderr, "requested by annotation hwcap.dev/deny cannot take effect") ||
			!strings.Contains(stderr, "bpf="+bpfVerdict(t)) {
			t.Fatalf("podman's error lacks the hook's reason (with the eBPF backend's verdict bpf=%s...): %s", bpfVerdict(t), stderr)
		}
	})

	t.Run("invalid annotation", func(t *testing.T) {
		rootfs := testutil.BusyboxRootfs(t)
		before := len(n.records(t))
		_, stderr, err := p.runContainer(t, "hwcap-invalid", rootfs,
			map[string]string{"hwcap.dev/deny": "sse3"}, "/bin/sh", "-c", "echo ran")
		if err == nil {
			t.Fatal("podman ran a container with an invalid annotation")
		}
		recs := n.records(t)[before:]
		if len(recs) != 1 || recs[0]["stage"] != "precreate" || !strings.Contains(recs[0]["error"].(string), `annotation hwcap.dev/deny: unknown feature "sse3"`) {
			t.Fatalf("log: %v (podman: %s)", recs, stderr)
		}
	})
}

func hookStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
