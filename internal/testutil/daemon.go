package testutil

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartDaemon starts c (a containerd, a dockerd) in the background with
// stdout and stderr appended to logPath, and stops it when the test ends:
// SIGTERM, then after grace its whole process tree is killed (KillTree:
// what it started carries its mark, a containerd shim too). When the test
// failed, the log's tail goes to the test log. c.Timeout is not used: a
// daemon runs until the test ends, and each client command has its own.
func StartDaemon(t testing.TB, c Cmd, logPath string, grace time.Duration) {
	t.Helper()
	logF, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	mark := testMark(t) + fmt.Sprint(markSeq.Add(1))
	cmd := command(c, mark)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = logF, logF
	if err := cmd.Start(); err != nil {
		logF.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			if killed := KillTree(0, mark); len(killed) > 0 {
				t.Logf("%s left %s running: killed", c.Argv[0], strings.Join(killed, ", "))
			}
		case <-time.After(grace):
			killed := KillTree(cmd.Process.Pid, mark)
			select {
			case <-done:
			case <-time.After(10 * time.Second): // unkillable (D state)
			}
			t.Logf("%s did not stop within %s of SIGTERM: killed %s", c.Argv[0], grace, strings.Join(killed, ", "))
		}
		logF.Close()
		if t.Failed() {
			t.Logf("%s ends:\n%s", logPath, tail(readFile(logPath), 40))
		}
	})
}

// readFile is the file's content, or the error reading it.
func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
