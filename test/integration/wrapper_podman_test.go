package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// podmanT runs podman with hwcap-runtime as its OCI runtime. podman does
// not pass its environment to the runtime (its cleanup even runs it with
// no PATH), so a two-line script sets $HWCAP_CONFIG and execs the wrapper,
// the way an admin would otherwise use /etc/hwcap/config.json.
type podmanT struct {
	bin, runtime string
}

func newPodman(t *testing.T, node *wrapperNode) *podmanT {
	t.Helper()
	testutil.RequireRoot(t)
	p := &podmanT{bin: testutil.RequireCommand(t, "podman")}
	testutil.RequireCommand(t, "runc")
	p.runtime = filepath.Join(t.TempDir(), "hwcap-runtime")
	script := fmt.Sprintf("#!/bin/sh\nHWCAP_CONFIG=%s HWCAP_RUNTIME=runc exec %s \"$@\"\n", node.Config, wrapperBinary(t))
	if err := os.WriteFile(p.runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *podmanT) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	res := testutil.Run(t, testutil.Cmd{Argv: append([]string{p.bin, "--runtime", p.runtime}, args...), Timeout: 120 * time.Second})
	return res.Stdout, res.Stderr, res.Err
}

// podman's defaults exceed this machine's hard limits; no network needed.
var podmanRunArgs = []string{"run", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

// TestWrapperPodman: podman --runtime hwcap-runtime runs, cleans up
// (podman's cleanup runs the runtime without PATH), refuses a masked
// container under enforce with the reason in podman's error, and masks
// podman exec under warn.
func TestWrapperPodman(t *testing.T) {
	node := newWrapperNode(t, "enforce", nil)
	p := newPodman(t, node)
	rootfs := testutil.BusyboxRootfs(t)
	feature := hostFeatureName(t)

	t.Run("run and cleanup", func(t *testing.T) {
		cidFile := filepath.Join(t.TempDir(), "cid")
		out, _, err := p.run(t, append(podmanRunArgs, "--rm", "--cidfile", cidFile, "--rootfs", rootfs, "/bin/echo", "hello from podman")...)
		if err != nil || out != "hello from podman\n" {
			t.Fatalf("podman run: %v %q", err, out)
		}
		cid, err := os.ReadFile(cidFile)
		if err != nil {
			t.Fatal(err)
		}
		// The container is gone from runc too (podman's cleanup worked).
		deadline := time.Now().Add(20 * time.Second)
		for testutil.Run(t, testutil.Cmd{Argv: []string{"runc", "state", string(cid)}, Timeout: 10 * time.Second, Quiet: true}).Err == nil {
			if time.Now().After(deadline) {
				t.Fatalf("runc still has container %s after podman run --rm", cid)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("enforce", func(t *testing.T) {
		before := countLines(t, node.LogFile)
		_, stderr, err := p.run(t, append(podmanRunArgs, "--rm", "--annotation", "hwcap.dev/deny="+feature, "--rootfs", rootfs, "/bin/echo", "masked")...)
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
		if err == nil || !strings.Contains(stderr, "hwcap-runtime: container ") || !strings.Contains(stderr, ": policy enforce: kernel ") ||
			!strings.Contains(stderr, "bpf="+bpfVerdict(t)) {
			t.Fatalf("podman run under enforce: %v, stderr %q; want the wrapper's reason with the eBPF backend's verdict", err, stderr)
		}
		if logs[0]["backend"] != "none" {
			t.Errorf("node log backend %v, want none", logs[0]["backend"])
		}
	})

	t.Run("warn exec", func(t *testing.T) {
		node.write(t, "warn", nil)
		t.Cleanup(func() { node.write(t, "enforce", nil) })
		name := testutil.ID("hwcap-podman")
		t.Cleanup(func() { _, _, _ = p.run(t, "rm", "--force", "--time", "0", name) })
		if _, _, err := p.run(t, append(podmanRunArgs, "--detach", "--name", name, "--annotation", "hwcap.dev/deny="+feature, "--rootfs", rootfs, "/bin/sleep", "120")...); err != nil {
			t.Fatal(err)
		}
		before := countLines(t, node.LogFile)
		out, _, err := p.run(t, "exec", name, "/bin/echo", "podman exec works")
		if err != nil || out != "podman exec works\n" {
			t.Fatalf("podman exec: %v %q", err, out)
		}
		var got []string
		for _, l := range node.nodeLog(t)[before:] {
			if l["decision"] != "failed" {
				got = append(got, fmt.Sprintf("%v:%v", l["stage"], l["decision"]))
			}
		}
		if s := strings.Join(got, " "); s != "exec:warned" && s != "exec:masked" {
			t.Errorf("podman exec not masked by the wrapper: node log %q", s)
		}
	})
}
