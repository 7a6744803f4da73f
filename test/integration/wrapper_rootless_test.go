package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// rootlessUID is the user rootless podman runs as: nobody, with a
// temporary HOME and XDG_RUNTIME_DIR and no /etc/subuid entry (podman then
// maps only that uid), so the test changes nothing on the machine.
const rootlessUID = 65534

// rootlessT is podman run by an unprivileged user, with hwcap-runtime as
// its runtime, under a node configuration whose run directory and log are
// root's (as /etc/hwcap/config.json's /run/hwcap and /var/log/hwcap are).
type rootlessT struct {
	dir, runtime, rootfs string
	env                  []string
}

func newRootless(t *testing.T, policy string) (*rootlessT, *wrapperNode) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "podman")
	testutil.RequireCommand(t, "runc")
	testutil.RequireCommand(t, "setpriv")
	// Everything the user needs must be reachable by it: t.TempDir() is
	// 0700 root.
	dir, err := os.MkdirTemp("", "hwcap-rootless-")
	if err != nil {
		t.Fatal(err)
	}
	r := &rootlessT{dir: dir, rootfs: filepath.Join(dir, "rootfs")}
	home, run := filepath.Join(dir, "home"), filepath.Join(dir, "xdg")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, rootlessUID, rootlessUID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.PopulateRootfs(t, r.rootfs)
	// The user's rootfs, as it would unpack an image (podman writes
	// /etc/mtab and mount points into it).
	if err := filepath.Walk(r.rootfs, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, rootlessUID, rootlessUID)
	}); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "hwcap-runtime")
	testutil.CopyFile(t, wrapperBinary(t), wrapper, 0o755)
	node := newWrapperNode(t, policy, nil)
	// The node's files where the user can read the configuration but not
	// write the run directory or the log.
	node.Config = filepath.Join(dir, "config.json")
	node.RunDir = filepath.Join(dir, "run")
	node.LogFile = filepath.Join(dir, "log", "hwcap.log")
	node.write(t, policy, nil)
	for _, d := range []string{node.RunDir, filepath.Dir(node.LogFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.runtime = filepath.Join(dir, "rt.sh")
	script := fmt.Sprintf("#!/bin/sh\nHWCAP_CONFIG=%s HWCAP_RUNTIME=runc exec %s \"$@\"\n", node.Config, wrapper)
	if err := os.WriteFile(r.runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r.env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "XDG_RUNTIME_DIR=" + run}
	t.Cleanup(func() {
		// podman keeps a pause process holding the user namespace.
		if b, err := os.ReadFile(filepath.Join(run, "libpod", "tmp", "pause.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		_ = os.RemoveAll(dir)
	})
	return r, node
}

func (r *rootlessT) podman(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	argv := append([]string{"setpriv", "--reuid=" + strconv.Itoa(rootlessUID), "--regid=" + strconv.Itoa(rootlessUID), "--clear-groups",
		"podman", "--runtime", r.runtime}, args...)
	res := testutil.Run(t, testutil.Cmd{Argv: argv, Env: r.env, Dir: r.dir, Timeout: 120 * time.Second})
	return res.Stdout, res.Stderr, res.Err
}

// TestWrapperPodmanRootless: rootless podman (uid 65534, single uid
// mapping) with hwcap-runtime. The wrapper runs as that user: the
// container's annotations are applied the same way, it cannot write the
// root-owned run directory (no probe cache, no exec record: exec asks
// runc's state) or node log, and none of that breaks a container.
func TestWrapperPodmanRootless(t *testing.T) {
	r, node := newRootless(t, "warn")
	feature := hostFeatureName(t)
	run := append([]string{"run", "--rm", "--network", "none", "--rootfs", r.rootfs}, "/bin/sh", "-c")

	t.Run("unannotated", func(t *testing.T) {
		out, _, err := r.podman(t, append(run, "echo plain; id -u")...)
		if err != nil || out != "plain\n0\n" {
			t.Fatalf("rootless podman run: %v %q", err, out)
		}
	})

	t.Run("annotated, warn, exec", func(t *testing.T) {
		name := testutil.ID("rl-warn")
		if _, _, err := r.podman(t, "run", "-d", "--name", name, "--network", "none", "--annotation", "hwcap.dev/deny="+feature,
			"--rootfs", r.rootfs, "/bin/sleep", "120"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _, _ = r.podman(t, "rm", "-f", "-t", "0", name) })
		out, _, err := r.podman(t, "exec", name, "/bin/sh", "-c", "echo exec; id -u")
		if err != nil || out != "exec\n0\n" {
			t.Fatalf("rootless podman exec: %v %q", err, out)
		}
		// The wrapper ran as the user: the conmon-started runtime left no
		// record in the root-owned run directory, and wrote no node log.
		if ents, _ := os.ReadDir(node.RunDir); len(ents) != 0 {
			t.Fatalf("the user's wrapper wrote into root's run directory: %v", ents)
		}
		if _, err := os.Stat(node.LogFile); err == nil {
			t.Fatalf("the user's wrapper wrote root's node log")
		}
		// The container's state shows the user's podman ran it through
		// the wrapper with the annotation in config.json.
		insp, _, err := r.podman(t, "inspect", "--format", "{{json .Config.Annotations}}", name)
		if err != nil {
			t.Fatal(err)
		}
		var ann map[string]string
		if err := json.Unmarshal([]byte(insp), &ann); err != nil || ann["hwcap.dev/deny"] != feature {
			t.Fatalf("annotations %q: %v", insp, err)
		}
	})

	t.Run("annotated, enforce", func(t *testing.T) {
		node.write(t, "enforce", nil)
		t.Cleanup(func() { node.write(t, "warn", nil) })
		_, stderr, err := r.podman(t, append([]string{"run", "--rm", "--network", "none", "--annotation", "hwcap.dev/deny=" + feature,
			"--rootfs", r.rootfs}, "/bin/echo", "ran")...)
		if err == nil {
			t.Fatal("rootless podman ran a masked container under enforce on a kernel without the series")
		}
		if !strings.Contains(stderr, "hwcap-runtime: container ") || !strings.Contains(stderr, "policy enforce: kernel") {
			t.Fatalf("podman's error %q does not carry the wrapper's reason", stderr)
		}
	})

	t.Run("bad annotation", func(t *testing.T) {
		_, stderr, err := r.podman(t, append([]string{"run", "--rm", "--network", "none", "--annotation", "hwcap.dev/deny=nosuchfeature",
			"--rootfs", r.rootfs}, "/bin/echo", "ran")...)
		if err == nil || !strings.Contains(stderr, `annotation hwcap.dev/deny: unknown feature "nosuchfeature"`) {
			t.Fatalf("rootless podman with a bad annotation: %v, %q", err, stderr)
		}
	})
}
