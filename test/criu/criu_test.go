package criu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// criuTools is what fetch.sh unpacks (the suite and version criu.env
// names), once the preflight has seen its criu work on this kernel.
type criuTools struct {
	Criu, Crun string // wrapper scripts for this host's architecture
	Version    string // the criu package's Debian version
	CrunVer    string
	Suite      string
}

var (
	toolsOnce sync.Once
	tools     criuTools
	// toolsErr is why there is no working CRIU: fetch.sh failed, or the
	// preflight did (then toolsSkip: a fact about this kernel, which
	// testutil.Skip turns into a failure under HWCAP_NO_SKIP=1).
	toolsErr  error
	toolsSkip bool
)

// fetchTimeout bounds fetch.sh: a cold fetch downloads about 30 packages.
const fetchTimeout = 15 * time.Minute

// criu returns the tools of fetch.sh, once per test binary, after the
// preflight: a dump and a restore of a trivial process. When that fails
// (trixie's 4.1.1 hangs dumping anything on 6.18.44-fc-v1294), every test
// that needs CRIU fails (skips without HWCAP_NO_SKIP=1) with one line
// naming CRIU's version, the kernel and the end of dump.log, instead of
// hanging in a runtime's checkpoint.
func criu(t *testing.T) criuTools {
	t.Helper()
	toolsOnce.Do(func() {
		tools, toolsErr = fetch(t)
		if toolsErr == nil {
			toolsErr = preflight(t, tools)
			toolsSkip = toolsErr != nil
		}
	})
	switch {
	case toolsSkip:
		testutil.Skip(t, "%v", toolsErr)
	case toolsErr != nil:
		t.Fatal(toolsErr)
	}
	return tools
}

// fetch runs fetch.sh and reads its output.
func fetch(t *testing.T) (criuTools, error) {
	res := testutil.Try(t, testutil.Cmd{Argv: []string{"./fetch.sh"}, Timeout: fetchTimeout})
	if res.Err != nil {
		return criuTools{}, fmt.Errorf("fetch.sh: %s", res.Report())
	}
	var c criuTools
	for _, l := range strings.Split(res.Stdout, "\n") {
		k, v, _ := strings.Cut(l, "=")
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		switch k {
		case "CRIU":
			c.Criu = v
		case "CRUN":
			c.Crun = v
		case "CRIU_VERSION":
			c.Version = v
		case "CRUN_VERSION":
			c.CrunVer = v
		case "CRIU_SUITE":
			c.Suite = v
		}
	}
	if c.Criu == "" || c.Version == "" {
		return c, fmt.Errorf("fetch.sh printed no CRIU= or CRIU_VERSION=: %s", res.Stdout)
	}
	return c, nil
}

// preflightTimeout bounds each of the preflight's dump and restore, which
// take well under a second when CRIU works.
const preflightTimeout = 30 * time.Second

// preflight dumps and restores `sleep` in a session of its own with
// c.Criu, each under preflightTimeout, and returns one line on failure.
func preflight(t *testing.T, c criuTools) error {
	dir, err := os.MkdirTemp("", "hwcap-criu-preflight")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fail := func(what, log string, res *testutil.Result) error {
		how := fmt.Sprintf("exit %d", res.Code)
		if res.Err != nil && res.Code < 0 {
			how = res.Err.Error()
			if res.TimedOut {
				how = fmt.Sprintf("no answer in %s", preflightTimeout)
			}
		}
		return fmt.Errorf("CRIU preflight: criu %s (%s) cannot %s a plain `setsid sleep` on kernel %s (%s); %s ends: %s",
			c.Version, c.Suite, what, strings.TrimSpace(string(kernel)), how, log, testutil.LastLine(filepath.Join(dir, log)))
	}
	sleep := exec.Command("sleep", "1000")
	sleep.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := sleep.Start(); err != nil {
		return err
	}
	pid := sleep.Process.Pid
	reaped := make(chan struct{})
	go func() { _ = sleep.Wait(); close(reaped) }()
	defer func() { _ = syscall.Kill(pid, syscall.SIGKILL) }() // the restored one, or the original on failure
	res := testutil.Try(t, testutil.Cmd{Argv: []string{c.Criu, "dump", "-t", strconv.Itoa(pid), "-D", dir, "-o", "dump.log", "-v4"},
		Timeout: preflightTimeout, Logs: []string{filepath.Join(dir, "dump.log")}})
	if res.Err != nil {
		return fail("dump", "dump.log", res)
	}
	// The dump killed it; its pid must be free (reaped) for the restore.
	select {
	case <-reaped:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("CRIU preflight: pid %d still there 5 s after criu %s dumped it", pid, c.Version)
	}
	res = testutil.Try(t, testutil.Cmd{Argv: []string{c.Criu, "restore", "-D", dir, "-d", "-o", "restore.log", "-v4"},
		Timeout: preflightTimeout, Logs: []string{filepath.Join(dir, "restore.log")}})
	if res.Err != nil {
		return fail("restore", "restore.log", res)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return fmt.Errorf("CRIU preflight: criu %s restored `sleep` on kernel %s, but pid %d is not there: %w", c.Version, strings.TrimSpace(string(kernel)), pid, err)
	}
	t.Logf("CRIU preflight: criu %s (%s) dumped and restored sleep on kernel %s", c.Version, c.Suite, strings.TrimSpace(string(kernel)))
	return nil
}

// run runs argv under testutil's deadline. A command with -d (run -d,
// restore -d) starts a container that inherits its stdio: it gets
// /dev/null (CRIU cannot dump a file outside the container's mounts) and
// says what it has to say in logs, which res.Report shows with CRIU's. A
// command that cannot start fails the test; one past its deadline too.
func run(t *testing.T, dir string, env []string, logs []string, argv ...string) *testutil.Result {
	t.Helper()
	detach := false
	for _, a := range argv {
		detach = detach || a == "-d"
	}
	res := testutil.Run(t, testutil.Cmd{Argv: argv, Dir: dir, Env: env, Logs: logs, Detach: detach})
	if res.Code < 0 {
		t.Fatal(res.Report())
	}
	return res
}
