package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// runHook runs the built hwcap-hook with stage and a state on stdin.
func runHook(t *testing.T, n *hookNode, stage string, state map[string]any) (int, string) {
	t.Helper()
	data, _ := json.Marshal(state)
	cmd := exec.Command(hookBinaries(t)["hwcap-hook"], stage)
	cmd.Env = []string{"HWCAP_CONFIG=" + n.Config}
	cmd.Stdin = bytes.NewReader(data)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("hwcap-hook: %v", err)
	}
	return cmd.ProcessState.ExitCode(), errb.String()
}

// TestHookReadsRealMaskedProcess starts the real shim (test-hooks build),
// which masks itself and then pauses before exec, so that a process whose
// /proc/PID/auxv carries the mask exists even on a kernel without the
// inheritance series. The guard must accept it as "masked" and poststart
// must confirm it; an unmasked process must fail poststart under enforce.
func TestHookReadsRealMaskedProcess(t *testing.T) {
	testutil.RequireRoot(t)
	feat := hostFeatureName(t)
	bins := hookBinaries(t)
	n := newHookNode(t, "enforce", false)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pause")
	for _, p := range []string{fifo, fifo + ".go"} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	shim := exec.Command(bins["hwcap-shim-paused"], "--deny", feat, "--policy", "warn", "--run-dir", filepath.Join(dir, "run"), "--", "/bin/sleep", "60")
	shim.Env = []string{"HWCAP_TEST_PAUSE=" + fifo, "PATH=/usr/bin:/bin"}
	var shimErr bytes.Buffer
	shim.Stderr = &shimErr
	if err := shim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shim.Process.Kill(); shim.Wait() })
	pidCh := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			pidCh <- ""
			return
		}
		defer f.Close()
		line, _ := bufio.NewReader(f).ReadString('\n')
		pidCh <- strings.TrimSpace(line)
	}()
	var pid int
	select {
	case s := <-pidCh:
		pid, _ = strconv.Atoi(s)
	case <-time.After(20 * time.Second):
		t.Fatalf("the shim did not pause: %s", shimErr.String())
	}
	if pid != shim.Process.Pid {
		t.Fatalf("paused pid %d, started %d", pid, shim.Process.Pid)
	}
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion":"1.0.2","process":{"args":["app"],"cwd":"/"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	state := func(id string, pid int) map[string]any {
		return map[string]any{"ociVersion": "1.0", "id": id, "status": "created", "pid": pid, "bundle": bundle, "root": "rootfs",
			"annotations": map[string]string{"hwcap.dev/deny": feat}}
	}
	if code, stderr := runHook(t, n, "createRuntime", state("masked", pid)); code != 0 {
		t.Fatalf("guard refused a masked init: %d %s", code, stderr)
	}
	if code, stderr := runHook(t, n, "poststart", state("masked", pid)); code != 0 {
		t.Fatalf("poststart refused a masked process: %d %s", code, stderr)
	}
	if got := n.decisions(t, "masked"); strings.Join(got, " ") != "createRuntime=masked poststart=confirmed" {
		t.Fatalf("log = %v", got)
	}
	// This test process is not masked.
	code, stderr := runHook(t, n, "poststart", state("unmasked", os.Getpid()))
	if code != 1 || !strings.Contains(stderr, "did not take effect: the container process (pid "+strconv.Itoa(os.Getpid())+") still sees "+feat) {
		t.Fatalf("poststart on an unmasked process: exit %d: %s", code, stderr)
	}
	if got := n.decisions(t, "unmasked"); strings.Join(got, " ") != "poststart=refused" {
		t.Fatalf("log = %v", got)
	}
	// Release the shim; it execs sleep (unmasked on this kernel, warn).
	if f, err := os.OpenFile(fifo+".go", os.O_WRONLY, 0); err == nil {
		f.Write([]byte("x"))
		f.Close()
	}
}
