package testutil

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// readPID waits for file to hold a pid.
func readPID(t *testing.T, file string) int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(file)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			return pid
		}
	}
	t.Fatalf("%s: no pid", file)
	return 0
}

// waitGone waits until pid is gone (reaped by init once killed).
func waitGone(pid int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !alive(pid) {
			return true
		}
	}
	return false
}

// TestRunDeadlineKillsTree: a command that outlives its deadline is
// killed with everything it started, in its process group or not: a
// child in its group, and one that left by setsid and a double fork (as
// conmon does), which only the mark finds. The result says which
// command, after how long, and shows its log's tail.
func TestRunDeadlineKillsTree(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dump.log")
	script := `echo "line 1" >"$1"; echo "the last line" >>"$1"
sleep 1000 & echo $! >"$2"
setsid sh -c 'sleep 1000 & echo $! >"$0"' "$3" &
echo started; echo to stderr >&2
sleep 1000`
	c := Cmd{Argv: []string{"sh", "-c", script, "sh", log, filepath.Join(dir, "child"), filepath.Join(dir, "escaped")},
		Timeout: 2 * time.Second, Logs: []string{log, filepath.Join(dir, "never.log")}}
	start := time.Now()
	res := Try(t, c)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("Try took %s with a 2 s deadline", took)
	}
	child, escaped := readPID(t, filepath.Join(dir, "child")), readPID(t, filepath.Join(dir, "escaped"))
	if !res.TimedOut || !errors.Is(res.Err, ErrDeadline) || res.Code != -1 {
		t.Fatalf("TimedOut %v, Err %v, Code %d; want a deadline", res.TimedOut, res.Err, res.Code)
	}
	for name, pid := range map[string]int{"child": child, "escaped": escaped} {
		if !waitGone(pid) {
			t.Errorf("%s %d still runs after the deadline", name, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if res.Stdout != "started\n" || !strings.Contains(res.Stderr, "to stderr") {
		t.Errorf("stdout %q, stderr %q", res.Stdout, res.Stderr)
	}
	rep := res.Report()
	for _, want := range []string{"sh -c ", "killed at its deadline after 2s", "sleep", log + " ends:\nline 1\nthe last line", "never.log: not written", "to stderr"} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	if got := LastLine(log); got != "the last line" {
		t.Errorf("LastLine = %q", got)
	}
}

// TestRunExitCode: a command that ends by itself reports its exit code,
// stdout and stderr, and a detached one gets /dev/null.
func TestRunExitCode(t *testing.T) {
	res := Run(t, Cmd{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	if res.TimedOut || res.Code != 3 || res.Stdout != "out\n" || res.Stderr != "err\n" {
		t.Errorf("got code %d, stdout %q, stderr %q, timed out %v", res.Code, res.Stdout, res.Stderr, res.TimedOut)
	}
	res = Run(t, Cmd{Argv: []string{"sh", "-c", `readlink /proc/self/fd/1 /proc/self/fd/2 >"$0"`, filepath.Join(t.TempDir(), "fds")}, Detach: true})
	if res.Code != 0 {
		t.Fatal(res.Report())
	}
	res = Run(t, Cmd{Argv: []string{"sh", "-c", "echo $" + MarkEnv}, Env: []string{"A=b"}})
	if m := strings.TrimSpace(res.Stdout); m == "" || !strings.HasPrefix(m, strconv.Itoa(os.Getpid())+".") {
		t.Errorf("the command's mark = %q", m)
	}
	if res := Try(t, Cmd{Argv: []string{"/nonexistent/command"}}); res.Err == nil || res.Code != -1 || res.TimedOut {
		t.Errorf("missing command: %+v", res)
	}
}

// TestStartDaemonStopsTree: a daemon that ignores SIGTERM is killed after
// its grace, with the helper it started in a session of its own.
func TestStartDaemonStopsTree(t *testing.T) {
	dir := t.TempDir()
	var escaped int
	t.Run("daemon", func(t *testing.T) {
		StartDaemon(t, Cmd{Argv: []string{"sh", "-c", `trap '' TERM; setsid sh -c 'sleep 1000 & echo $! >"$0"' "$0" & echo up; while :; do sleep 1; done`,
			filepath.Join(dir, "escaped")}}, filepath.Join(dir, "log"), time.Second)
		escaped = readPID(t, filepath.Join(dir, "escaped"))
	})
	if !waitGone(escaped) {
		t.Errorf("the daemon's helper %d still runs after the test", escaped)
		_ = syscall.Kill(escaped, syscall.SIGKILL)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log")); string(b) != "up\n" {
		t.Errorf("daemon log %q", b)
	}
}

// TestTestEndKillsMarked: what a test's command left running (a detached
// helper, as `podman run -d` leaves conmon) is killed when the test ends.
func TestTestEndKillsMarked(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	t.Run("leaves", func(t *testing.T) {
		res := Run(t, Cmd{Argv: []string{"sh", "-c", `setsid sh -c 'sleep 1000 & echo $! >"$0"' "$0" &`, pidFile}})
		if res.Code != 0 {
			t.Fatal(res.Report())
		}
		if pid := readPID(t, pidFile); !alive(pid) {
			t.Fatalf("helper %d is not running", pid)
		}
	})
	pid := readPID(t, pidFile)
	if !waitGone(pid) {
		t.Errorf("helper %d still runs after its test", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
