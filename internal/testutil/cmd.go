package testutil

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds a Cmd that sets no Timeout: long enough for any
// one runtime, podman or CRIU command on the shared CI machine, short
// enough that a stuck one costs minutes, not the CI run.
const DefaultTimeout = 2 * time.Minute

// MarkEnv is the environment variable every command started by Run or
// StartDaemon carries, with a value unique to the command. Its
// descendants inherit it even when they leave its process group and
// parent (setsid and a double fork: conmon, a runtime's detached
// helpers), which is how a deadline finds them.
const MarkEnv = "HWCAP_TEST_MARK"

// ErrDeadline is the error of a command killed at its deadline.
var ErrDeadline = errors.New("killed at its deadline")

// Cmd is one external command of a test (a runtime, podman, CRIU, a
// daemon's client, QEMU).
type Cmd struct {
	Argv []string
	Dir  string
	// Env is the command's environment (nil: the test's), to which Run
	// adds MarkEnv.
	Env   []string
	Stdin io.Reader // nil: /dev/null
	// Timeout is the deadline (0: DefaultTimeout). When it passes, the
	// command's whole process tree is killed: its process group, its
	// descendants, and whatever carries its MarkEnv value.
	Timeout time.Duration
	// Logs are files that explain a failure (CRIU's dump.log and
	// restore.log, the runtime's --log): Report shows their last lines.
	Logs []string
	// Detach gives the command /dev/null for stdout and stderr: it starts
	// a process meant to outlive it (run -d, restore -d) that inherits
	// them, and CRIU cannot dump a file outside the container's mounts.
	// Its messages are in Logs.
	Detach bool
	// Quiet leaves the command out of the test log unless it fails (a
	// readiness poll).
	Quiet bool
}

// Result is the outcome of one command.
type Result struct {
	Argv           []string
	Stdout, Stderr string
	// Err is nil, an *exec.ExitError, or (wrapping ErrDeadline) the
	// deadline's.
	Err      error
	Code     int // exit code; -1 when killed or not started
	Duration time.Duration
	TimedOut bool
	logs     []string
}

// Combined is stdout and stderr together, for assertions on messages.
func (res *Result) Combined() string { return res.Stdout + res.Stderr }

// Report says what happened, for a failure message: the command, its exit
// or deadline and how long it ran, the end of its stderr, and the last
// lines of each of its Logs.
func (res *Result) Report() string {
	var b strings.Builder
	what := fmt.Sprintf("exit %d", res.Code)
	switch {
	case res.TimedOut:
		what = res.Err.Error()
	case res.Err != nil && res.Code < 0:
		what = res.Err.Error()
	}
	fmt.Fprintf(&b, "%s: %s after %s", strings.Join(res.Argv, " "), what, res.Duration.Round(time.Millisecond))
	if s := tail(res.Stderr, 10); s != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", s)
	}
	for _, l := range res.logs {
		data, err := os.ReadFile(l)
		switch {
		case errors.Is(err, os.ErrNotExist):
			fmt.Fprintf(&b, "\n%s: not written", l)
		case err != nil:
			fmt.Fprintf(&b, "\n%s: %v", l, err)
		default:
			fmt.Fprintf(&b, "\n%s ends:\n%s", l, tail(string(data), 15))
		}
	}
	return b.String()
}

// LastLine is the last non-empty line of file, or a note that there is none.
func LastLine(file string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	if s := tail(string(data), 1); s != "" {
		return s
	}
	return "(empty)"
}

// tail returns the last n non-empty lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Run runs c to completion under its deadline and logs what it did. A
// command killed at its deadline fails the test at once (t.Fatal) with
// Report: a stuck runtime or CRIU would only make the next command stick
// too. Any other outcome is the caller's to judge.
func Run(t testing.TB, c Cmd) *Result {
	t.Helper()
	res := Try(t, c)
	if res.TimedOut {
		t.Fatalf("%s", res.Report())
	}
	return res
}

// Try is Run without the t.Fatal at the deadline, for a goroutine or a
// cleanup: the caller checks res.TimedOut (res.Err wraps ErrDeadline).
func Try(t testing.TB, c Cmd) *Result {
	t.Helper()
	res := run(t, c)
	if !c.Quiet || res.Err != nil {
		t.Logf("%s (%s): err=%v\nstdout: %s\nstderr: %s", strings.Join(res.Argv, " "), res.Duration.Round(time.Millisecond), res.Err, res.Stdout, res.Stderr)
	}
	return res
}

// run is Try without the test log.
func run(t testing.TB, c Cmd) *Result {
	t.Helper()
	res := &Result{Argv: c.Argv, Code: -1, logs: c.Logs}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	mark := testMark(t) + fmt.Sprint(markSeq.Add(1))
	cmd := command(c, mark)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var outf, errf *os.File
	if !c.Detach {
		// Files, not pipes: a process that outlives the command (a
		// detached container) keeps what it inherited open, and Wait
		// would wait for it.
		var err error
		if outf, err = os.CreateTemp("", "hwcap-test-stdout"); err != nil {
			t.Fatal(err)
		}
		if errf, err = os.CreateTemp("", "hwcap-test-stderr"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			for _, f := range []*os.File{outf, errf} {
				f.Close()
				os.Remove(f.Name())
			}
		}()
		cmd.Stdout, cmd.Stderr = outf, errf
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = err
		return res
	}
	var waitErr error
	done := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(done) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		res.Err = waitErr
	case <-timer.C:
		killed := KillTree(cmd.Process.Pid, mark)
		select {
		case <-done:
		case <-time.After(10 * time.Second): // unkillable (D state): report anyway
		}
		res.TimedOut = true
		res.Err = fmt.Errorf("%w after %s (%d process(es) killed: %s)", ErrDeadline, timeout, len(killed), strings.Join(killed, ", "))
	}
	res.Duration = time.Since(start)
	if cmd.ProcessState != nil && !res.TimedOut {
		res.Code = cmd.ProcessState.ExitCode()
	}
	if outf != nil {
		b, _ := os.ReadFile(outf.Name())
		res.Stdout = string(b)
		b, _ = os.ReadFile(errf.Name())
		res.Stderr = string(b)
	}
	return res
}

// command is the exec.Cmd for c, marked with mark, stdin from c.Stdin.
func command(c Cmd, mark string) *exec.Cmd {
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env[:len(env):len(env)], MarkEnv+"="+mark)
	cmd.Stdin = c.Stdin
	return cmd
}

var (
	markSeq   atomic.Uint64
	testMarks sync.Map // testing.TB -> its mark prefix
)

// testMark returns t's mark prefix, "PID.N." (PID: the test binary's).
// The first call for t registers a cleanup that kills whatever its
// commands left running that still carries the prefix (a daemon's
// children, conmon), and logs what it killed.
func testMark(t testing.TB) string {
	if m, ok := testMarks.Load(t); ok {
		return m.(string)
	}
	m := fmt.Sprintf("%d.%d.", os.Getpid(), markSeq.Add(1))
	if prev, loaded := testMarks.LoadOrStore(t, m); loaded {
		return prev.(string)
	}
	t.Cleanup(func() {
		testMarks.Delete(t)
		if killed := killMarked(m); len(killed) > 0 {
			t.Logf("killed %d process(es) the test's commands left running: %s", len(killed), strings.Join(killed, ", "))
		}
	})
	return m
}

// A test binary can inherit descriptors its parent left open across exec
// (flock(1)'s lock on the heavy-run lock file, when CI runs `flock LOCK
// make test`), and os/exec passes every such descriptor on: a container,
// a daemon or a process CRIU restores would hold the lock after the test
// ends, and CRIU refuses to dump a process holding a file lock ("Some file
// locks are hold by dumping tasks"). So they are closed on exec.
func init() {
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
