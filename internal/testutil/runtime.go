package testutil

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
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
	// Timeout bounds each command (default 60s).
	Timeout time.Duration
}

func newRuntime(t testing.TB, name, bin string) *Runtime {
	t.Helper()
	r := &Runtime{Name: name, Bin: bin, Root: filepath.Join(t.TempDir(), name+"-root"), Timeout: 60 * time.Second}
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

// Command returns an exec.Cmd for the runtime with args, bounded by Timeout.
func (r *Runtime) Command(ctx context.Context, args ...string) *exec.Cmd {
	argv := r.Argv(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// `create` and `run -d` hand our stdout/stderr pipes to the container's
	// init, which keeps them open after the runtime exits: without a delay
	// bound, Wait would wait for the container to end.
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// Result is the outcome of one runtime command.
type Result struct {
	Stdout, Stderr string
	Err            error
	Duration       time.Duration
}

// Combined is stdout and stderr together, for assertions on messages.
func (res *Result) Combined() string { return res.Stdout + res.Stderr }

// Exec runs the runtime with args in dir (the bundle, "" = cwd).
func (r *Runtime) Exec(t testing.TB, dir string, env []string, args ...string) *Result {
	t.Helper()
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := r.Command(ctx, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := &Result{Stdout: out.String(), Stderr: errb.String(), Err: err, Duration: time.Since(start)}
	t.Logf("%s (%.0f ms): err=%v\nstdout: %s\nstderr: %s", strings.Join(cmd.Args, " "), res.Duration.Seconds()*1000, err, res.Stdout, res.Stderr)
	return res
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
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = r.Command(ctx, "delete", "--force", id).Run()
	})
}

// ID returns a container id unique to this run: prefix plus random hex.
func ID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
