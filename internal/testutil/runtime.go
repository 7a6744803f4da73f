package testutil

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Runtime runs an OCI runtime binary with a private state root.
type Runtime struct {
	Name string // "runc" or "crun"
	Bin  string // absolute path
	Root string // --root state directory (private to the test)
	// Unshare is set when the runtime must run in a private mount namespace
	// with the cgroup v2 hierarchy unmounted (crun on hybrid cgroups).
	Unshare bool
	// Timeout bounds each command (0: DefaultTimeout).
	Timeout time.Duration
}

func newRuntime(t testing.TB, name, bin string) *Runtime {
	t.Helper()
	r := &Runtime{Name: name, Bin: bin, Root: filepath.Join(t.TempDir(), name+"-root")}
	if name == "crun" && HybridCgroups() {
		r.Unshare = true
		RequireCommand(t, "unshare")
	}
	return r
}

// HybridCgroups reports whether cgroup v1 controllers and a v2 hierarchy
// at /sys/fs/cgroup/unified are mounted together (crun 1.8 refuses that).
func HybridCgroups() bool {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 2 && fields[1] == "/sys/fs/cgroup/unified" && fields[2] == "cgroup2" {
			return true
		}
	}
	return false
}

// Argv returns the full command line for runtime arguments args.
func (r *Runtime) Argv(args ...string) []string {
	argv := append([]string{r.Bin, "--root", r.Root}, args...)
	if r.Unshare {
		// A private mount namespace, so unmounting the v2 hierarchy is
		// invisible to the host; crun then sees plain cgroup v1.
		argv = append([]string{"unshare", "-m", "sh", "-c",
			`umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"`}, argv...)
	}
	return argv
}

// Cmd is the Cmd for the runtime with args, in dir (the bundle, "" =
// cwd), env (nil: the test's), bounded by Timeout.
func (r *Runtime) Cmd(dir string, env []string, args ...string) Cmd {
	return Cmd{Argv: r.Argv(args...), Dir: dir, Env: env, Timeout: r.Timeout}
}

// Exec runs the runtime with args in dir (the bundle, "" = cwd) under
// its deadline (see Run).
func (r *Runtime) Exec(t testing.TB, dir string, env []string, args ...string) *Result {
	t.Helper()
	return Run(t, r.Cmd(dir, env, args...))
}

// Run runs the bundle to completion as container id (`run --bundle`), and
// deletes any leftover state at the end of the test.
func (r *Runtime) Run(t testing.TB, b *Bundle, id string) *Result {
	t.Helper()
	r.cleanup(t, id)
	return r.Exec(t, b.Dir, nil, "run", "--bundle", b.Dir, id)
}

// Create runs `create --bundle` for id (the init waits until Start).
func (r *Runtime) Create(t testing.TB, b *Bundle, id string) *Result {
	t.Helper()
	r.cleanup(t, id)
	return r.Exec(t, b.Dir, nil, "create", "--bundle", b.Dir, id)
}

// Start runs `start` for id.
func (r *Runtime) Start(t testing.TB, id string) *Result {
	t.Helper()
	return r.Exec(t, "", nil, "start", id)
}

func (r *Runtime) cleanup(t testing.TB, id string) {
	t.Cleanup(func() { r.Delete(t, id) })
}

// Delete removes container id, whatever its state: `delete --force` under
// a 30 s deadline, then, if processes are left in cgroups named id (a
// runtime that hung or failed), it kills them (KillCgroups) and says so
// in the test log.
func (r *Runtime) Delete(t testing.TB, id string) {
	t.Helper()
	c := r.Cmd("", nil, "delete", "--force", id)
	c.Timeout = 30 * time.Second
	if res := Try(t, c); res.TimedOut {
		t.Errorf("%s", res.Report())
	}
	if killed := KillCgroups(id); len(killed) > 0 {
		t.Logf("%s delete --force %s left %d process(es) in its cgroups: killed %s", r.Name, id, len(killed), strings.Join(killed, " "))
	}
}

// ID returns a container id unique to this run: prefix plus random hex.
func ID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
