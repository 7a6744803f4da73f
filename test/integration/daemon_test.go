package integration

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// startDaemon starts cmd (containerd, dockerd) with its output in logPath
// and stops it when the test ends: SIGTERM, then SIGKILL after grace. When
// the test failed, the log's tail goes into the test output. Cleanups
// registered after this call run while the daemon is still up.
func startDaemon(t *testing.T, cmd *exec.Cmd, logPath string, grace time.Duration) {
	t.Helper()
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logF, logF
	if err := cmd.Start(); err != nil {
		logF.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-done
		}
		logF.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s (tail): %s", logPath, tail(string(b), 4000))
		}
	})
}

// waitDaemon calls ready every 100 ms until it succeeds; after tries it
// fails the test with the daemon's log.
func waitDaemon(t *testing.T, logPath string, tries int, ready func() error) {
	t.Helper()
	for i := 0; ; i++ {
		err := ready()
		if err == nil {
			return
		}
		if i == tries {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%v; daemon log (tail): %s", err, tail(string(b), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
