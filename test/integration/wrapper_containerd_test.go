package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// containerdT is a private containerd (own root, state and socket) whose
// runc shim runs hwcap-runtime, as a RuntimeClass handler with
// options.BinaryName would in production.
type containerdT struct {
	sock, ns, wrapper, dir string
}

func startContainerd(t *testing.T, env []string) *containerdT {
	t.Helper()
	return startContainerdWith(t, env, testutil.ID("hwcap"), func(string) string {
		return `disabled_plugins = ["io.containerd.grpc.v1.cri"]` + "\n"
	})
}

// startContainerdWith starts a private containerd (own root, state and
// socket) using namespace ns; body(dir) is the rest of its config.toml
// (top-level keys or whole tables), dir the daemon's own directory.
func startContainerdWith(t *testing.T, env []string, ns string, body func(dir string) string) *containerdT {
	t.Helper()
	testutil.RequireRoot(t)
	bin := testutil.RequireCommand(t, "containerd")
	testutil.RequireCommand(t, "ctr")
	testutil.RequireCommand(t, "containerd-shim-runc-v2")
	dir, err := os.MkdirTemp("", "hwcap-ctd-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &containerdT{sock: filepath.Join(dir, "c.sock"), ns: ns, wrapper: wrapperBinary(t), dir: dir}
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n", filepath.Join(dir, "root"), filepath.Join(dir, "state")) +
		body(dir) + fmt.Sprintf("[grpc]\n  address = %q\n[ttrpc]\n  address = %q\n", c.sock, c.sock+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "containerd.log")
	// The runc shim keeps runc's state under /run/containerd/runc/<ns>
	// whatever containerd's own directories, and runc creates the
	// namespace's parent cgroup /<ns> but removes only the container's
	// leaf: remove both for a namespace of ours only, never for one a
	// system containerd may use (k8s.io).
	if strings.HasPrefix(ns, "hwcap-") {
		t.Cleanup(func() {
			os.RemoveAll(filepath.Join("/run/containerd/runc", c.ns))
			testutil.RemoveCgroups(c.ns)
		})
	}
	testutil.StartDaemon(t, testutil.Cmd{Argv: []string{bin, "--config", filepath.Join(dir, "config.toml")}, Env: env}, logPath, 10*time.Second)
	waitDaemon(t, logPath, 100, func() error {
		_, err := c.ctr(t, "version")
		return err
	})
	return c
}

func (c *containerdT) ctr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	res := testutil.Run(t, testutil.Cmd{Argv: append([]string{"ctr", "--address", c.sock, "--namespace", c.ns}, args...),
		Timeout: 60 * time.Second, Quiet: args[0] == "version"})
	err := res.Err
	if err != nil {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(res.Stderr))
	}
	return res.Stdout, err
}

// remove kills and deletes a container (task first), ignoring errors.
func (c *containerdT) remove(t *testing.T, id string) {
	t.Helper()
	_, _ = c.ctr(t, "task", "kill", "--signal", "SIGKILL", id)
	for i := 0; i < 50; i++ {
		if _, err := c.ctr(t, "task", "delete", id); err == nil || strings.Contains(err.Error(), "not found") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, _ = c.ctr(t, "container", "delete", id)
}

// TestWrapperContainerd runs containers with containerd's runc shim calling
// hwcap-runtime (ctr --runc-binary, the same as options.BinaryName): the
// shim's own argv forms (--root, --log log.json --log-format json, create
// --bundle, exec --process, delete) go through the wrapper.
func TestWrapperContainerd(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	node := newWrapperNode(t, "enforce", nil)
	c := startContainerd(t, node.env(rt.Bin))
	rootfs := testutil.BusyboxRootfs(t)
	feature := hostFeatureName(t)
	run := func(id string, extra ...string) []string {
		args := append([]string{"run", "--rootfs", "--runc-binary", c.wrapper}, extra...)
		return append(args, rootfs, id)
	}

	t.Run("run prints", func(t *testing.T) {
		id := testutil.ID("ctd-run")
		out, err := c.ctr(t, append(run(id, "--rm"), "/bin/sh", "-c", "echo hello from containerd")...)
		if err != nil || out != "hello from containerd\n" {
			t.Fatalf("ctr run: %v, %q", err, out)
		}
	})

	t.Run("exec and delete", func(t *testing.T) {
		id := testutil.ID("ctd-exec")
		t.Cleanup(func() { c.remove(t, id) })
		if _, err := c.ctr(t, append(run(id, "--detach"), "/bin/sleep", "120")...); err != nil {
			t.Fatal(err)
		}
		out, err := c.ctr(t, "task", "exec", "--exec-id", "e1", id, "/bin/echo", "exec works")
		if err != nil || out != "exec works\n" {
			t.Fatalf("ctr task exec: %v, %q", err, out)
		}
		if n := countRecords(t, filepath.Join(node.RunDir, "containers"), id); n != 1 {
			t.Fatalf("%d records for %s: the shim's create did not go through the wrapper", n, id)
		}
		c.remove(t, id)
		if n := countRecords(t, filepath.Join(node.RunDir, "containers"), id); n != 0 {
			t.Errorf("%d records for %s after the shim's delete", n, id)
		}
	})

	t.Run("enforce", func(t *testing.T) {
		id := testutil.ID("ctd-enf")
		t.Cleanup(func() { c.remove(t, id) })
		before := countLines(t, node.LogFile)
		_, err := c.ctr(t, append(run(id, "--rm", "--annotation", "hwcap.dev/deny="+feature), "/bin/echo", "masked")...)
		logs := node.nodeLog(t)[before:]
		if len(logs) != 1 {
			t.Fatalf("node log: %v", logs)
		}
		if logs[0]["decision"] == "masked" {
			if err != nil {
				t.Fatalf("masked run failed: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("ctr run succeeded under enforce (decision %v)", logs[0]["decision"])
		}
		want := "OCI runtime create failed: hwcap-runtime: container " + id + ": policy enforce: kernel "
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "does not pass HWCAP masks") {
			t.Errorf("containerd's error %q does not carry the wrapper's reason %q", err, want)
		}
	})

	t.Run("warn", func(t *testing.T) {
		node.write(t, "warn", nil) // containerd keeps its environment
		id := testutil.ID("ctd-warn")
		t.Cleanup(func() { c.remove(t, id) })
		before := countLines(t, node.LogFile)
		if _, err := c.ctr(t, append(run(id, "--detach", "--annotation", "hwcap.dev/deny="+feature), "/bin/sleep", "120")...); err != nil {
			t.Fatal(err)
		}
		out, err := c.ctr(t, "task", "exec", "--exec-id", "e1", id, "/bin/echo", "exec under warn")
		if err != nil || out != "exec under warn\n" {
			t.Fatalf("exec: %v %q", err, out)
		}
		logs := node.nodeLog(t)[before:]
		var cmds []string
		for _, l := range logs {
			if l["container"] == id && l["decision"] != "failed" {
				cmds = append(cmds, fmt.Sprintf("%v:%v", l["stage"], l["decision"]))
			}
		}
		if got := strings.Join(cmds, " "); got != "create:warned exec:warned" && got != "create:masked exec:masked" {
			t.Errorf("node log decisions %q, want create and exec masked or warned", got)
		}
	})
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(data, []byte("\n"))
}
