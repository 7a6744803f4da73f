package shim_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/testutil"
)

// shimBin is hwcap-shim built with the test-only pause hook.
var shimBin string

func TestMain(m *testing.M) {
	probe.MaybeChild()
	dir, err := os.MkdirTemp("", "hwcap-shim-test")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	shimBin = filepath.Join(dir, "hwcap-shim")
	cmd := exec.Command("go", "build", "-tags", "hwcap_testhooks", "-o", shimBin, "github.com/hwcap/hwcap/cmd/hwcap-shim")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// kernelInherits asks the real probe.
func kernelInherits(t *testing.T) bool {
	t.Helper()
	r, err := probe.Run()
	if err != nil {
		t.Fatal(err)
	}
	return r.Inherits(auxv.AvailablePaths()...)
}

// worldDir is a directory every uid can reach (t.TempDir's parents are 0700).
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "hwcap-world")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// readPause waits for the paused shim's pid on fifo; it gives up when the
// shim exits first or after a minute, so a shim that never pauses fails the
// test instead of hanging it.
func readPause(t *testing.T, fifo string, exited <-chan struct{}) (int, error) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		r, err := os.Open(fifo)
		if err != nil {
			got <- ""
			return
		}
		line, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		got <- line
	}()
	unblock := func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	}
	select {
	case line := <-got:
		return strconv.Atoi(strings.TrimSpace(line))
	case <-exited:
		unblock()
		return 0, errors.New("shim exited without pausing")
	case <-time.After(time.Minute):
		unblock()
		return 0, errors.New("shim did not pause within a minute")
	}
}

// TestShimMasksItself checks from outside, through /proc/PID/auxv, that
// the shim's own saved vector holds the mask right before it execs: as
// root, as uid 65534, and inside a user namespace.
func TestShimMasksItself(t *testing.T) {
	testutil.RequireRoot(t)
	f, host, _ := testutil.HostFeature(t)
	want := host.AndNot(f.Words())
	cases := map[string]struct {
		wrap []string
		cred *syscall.Credential
	}{
		"root":        {},
		"uid 65534":   {cred: &syscall.Credential{Uid: 65534, Gid: 65534}},
		"unshare -Ur": {wrap: []string{"unshare", "-Ur"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := worldDir(t)
			fifo := filepath.Join(dir, "pause")
			for _, p := range []string{fifo, fifo + ".go"} {
				if err := unix.Mkfifo(p, 0o666); err != nil {
					t.Fatal(err)
				}
				os.Chmod(p, 0o666)
			}
			args := append(tc.wrap, shimBin, "--policy", "warn", "--run-dir", filepath.Join(dir, "run"), "--deny", f.Name, "--", "/bin/true")
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HWCAP_TEST_PAUSE=" + fifo}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: tc.cred}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(exited) }()
			pid, err := readPause(t, fifo, exited)
			if err != nil {
				<-exited
				t.Fatalf("%v (exit: %v); stderr: %s", err, waitErr, stderr.String())
			}
			v, rerr := auxv.ReadPID(pid)
			if w, err := os.OpenFile(fifo+".go", os.O_WRONLY, 0); err == nil {
				w.Write([]byte{1})
				w.Close()
			}
			<-exited
			if waitErr != nil {
				t.Fatalf("shim: %v; stderr: %s", waitErr, stderr.String())
			}
			if rerr != nil {
				t.Fatal(rerr)
			}
			if got := v.HWCAPs(); got != want {
				t.Errorf("/proc/%d/auxv words = %s, want %s (host %s without %s)", pid, got, want, host, f.Name)
			}
		})
	}
}

// shim runs the shim with args and a minimal environment under
// testutil's deadline.
func shim(t *testing.T, args ...string) *testutil.Result {
	t.Helper()
	return testutil.Run(t, testutil.Cmd{Argv: append([]string{shimBin}, args...), Env: []string{"PATH=/usr/bin:/bin"}, Timeout: 30 * time.Second})
}

// TestProbeMatchesObservation runs a real command under the shim and checks
// the probe's verdict against what that command was actually given.
func TestProbeMatchesObservation(t *testing.T) {
	f, host, _ := testutil.HostFeature(t)
	res := shim(t, "--policy", "warn", "--run-dir", t.TempDir(), "--deny", f.Name, "--", "cat", "/proc/self/auxv")
	if res.Err != nil {
		t.Fatal(res.Report())
	}
	v, err := auxv.Decode([]byte(res.Stdout), auxv.Native)
	if err != nil {
		t.Fatal(err)
	}
	hidden := !v.HWCAPs().Has(f.Word, f.Bit)
	inherits := kernelInherits(t)
	t.Logf("kernel %s: probe says inherits=%v; cat was given %s (host %s), %s hidden=%v", probe.KernelRelease(), inherits, v.HWCAPs(), host, f.Name, hidden)
	if hidden != inherits {
		t.Errorf("probe says inherits=%v but the child's %s bit hidden=%v", inherits, f.Name, hidden)
	}
	warned := strings.Contains(res.Stderr, "warning: starting cat without a working mask")
	if warned == inherits {
		t.Errorf("warning printed=%v with inherits=%v; stderr: %q", warned, inherits, res.Stderr)
	}
}

// TestEnforce: under enforce, a kernel that does not pass masks on stops
// the command from starting, with one line; one that does lets it run.
func TestEnforce(t *testing.T) {
	f, _, _ := testutil.HostFeature(t)
	marker := filepath.Join(t.TempDir(), "started")
	res := shim(t, "--run-dir", t.TempDir(), "--deny", f.Name, "--", "touch", marker)
	_, statErr := os.Stat(marker)
	started := statErr == nil
	if kernelInherits(t) {
		if res.Err != nil || !started {
			t.Fatalf("kernel inherits but shim failed: %s", res.Report())
		}
		return
	}
	if res.Code != 125 {
		t.Fatalf("exit = %v, want 125; stderr %q", res.Err, res.Stderr)
	}
	if started {
		t.Error("command started although the mask was refused")
	}
	msg := res.Stderr
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "refusing to start touch under policy enforce") ||
		!strings.Contains(msg, "kernel "+probe.KernelRelease()+" does not pass HWCAP masks") || !strings.Contains(msg, "--policy warn") {
		t.Errorf("stderr = %q, want one line naming the kernel, the refusal and the fix", msg)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _, _ := testutil.HostFeature(t)
	cases := map[string]struct {
		args []string
		code int
		msg  string
	}{
		"command's own code": {[]string{"--policy", "warn", "--deny", f.Name, "--", "sh", "-c", "exit 42"}, 42, ""},
		"no mask, code kept": {[]string{"--", "sh", "-c", "exit 3"}, 3, ""},
		"not found":          {[]string{"--policy", "warn", "--", "no-such-command-xyz"}, 127, "no-such-command-xyz: command not found"},
		"not executable":     {[]string{"--policy", "warn", "--", noexec}, 126, "permission denied"},
		"bad feature":        {[]string{"--deny", "nosuchfeature", "--", "true"}, 125, `unknown feature "nosuchfeature"`},
		"usage":              {[]string{"--deny"}, 125, "flag needs an argument"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := shim(t, append([]string{"--run-dir", dir}, tc.args...)...)
			if res.Code < 0 {
				t.Fatal(res.Report())
			}
			if res.Code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", res.Code, tc.code, res.Stderr)
			}
			if tc.msg != "" && (!strings.Contains(res.Stderr, tc.msg) || strings.Count(res.Stderr, "\n") != 1) {
				t.Errorf("stderr %q, want one line containing %q", res.Stderr, tc.msg)
			}
		})
	}
}
