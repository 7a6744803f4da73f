package wrapper

import (
	"bytes"
	"encoding/json"
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

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// fakeBackend is an eBPF backend's maps in memory.
type fakeBackend struct {
	tasks   map[int]hwcap.Words
	cgroups map[uint64]hwcap.Words
	failPID int // SetTask of this pid fails
	closed  bool
}

func (f *fakeBackend) SetTask(pid int, keep hwcap.Words) (hwcap.Words, error) {
	if pid == f.failPID {
		return hwcap.Words{}, errors.New("mask pid: operation not permitted")
	}
	if cur, ok := f.tasks[pid]; ok {
		keep = keep.And(cur)
	}
	f.tasks[pid] = keep
	return keep, nil
}

func (f *fakeBackend) TaskMask(pid int) (hwcap.Words, bool, error) {
	m, ok := f.tasks[pid]
	return m, ok, nil
}

func (f *fakeBackend) SetCgroup(id uint64, keep hwcap.Words) (hwcap.Words, error) {
	f.cgroups[id] = keep
	return keep, nil
}

func (f *fakeBackend) Close() { f.closed = true }

// TestRestoreBPF: a detached restore on the eBPF backend runs the real
// runtime as a child, then masks every restored task (a real process
// tree here: sh and its sleep) and registers the container's cgroup; a
// task it cannot mask deletes the container under enforce (one line,
// exit 1) and is logged under warn; a container in hwcap-runtime's own
// cgroup keeps its tasks' masks and registers nothing; a failed restore
// is the runtime's exit code, with nothing re-applied.
func TestRestoreBPF(t *testing.T) {
	tree := exec.Command("/bin/sh", "-c", "/bin/sleep 60 & wait")
	if err := tree.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-tree.Process.Pid, syscall.SIGKILL)
		_ = tree.Process.Kill()
		_ = tree.Wait()
	})
	initPID := tree.Process.Pid
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ds, err := descendants(initPID, 10)
		if err == nil && len(ds) == 2 {
			child = ds[1]
		}
	}
	if child == 0 {
		t.Fatal("the test's process tree did not start")
	}
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })

	keep := hwcap.All
	keep[0] &^= 1 << 3
	self := &bpf.Cgroup{Path: "/user.slice/test", ID: 7}
	ctr := &bpf.Cgroup{Path: "/machine/c1", ID: 42}
	for name, tc := range map[string]struct {
		policy     hwcap.Policy
		restore    int  // the fake runtime's restore exit code
		failTask   bool // SetTask of the child fails
		inSelf     bool // the container shares hwcap-runtime's cgroup
		code       int
		stderr     string
		decision   string
		deleted    bool
		tasks      int
		cgroupMask bool
	}{
		"masked":            {policy: hwcap.Enforce, code: 0, decision: "reapplied", tasks: 2, cgroupMask: true},
		"own cgroup":        {policy: hwcap.Enforce, inSelf: true, code: 0, decision: "reapplied", tasks: 2},
		"restore failed":    {policy: hwcap.Enforce, restore: 3, code: 3},
		"task enforce":      {policy: hwcap.Enforce, failTask: true, code: ExitRefused, decision: "refused", deleted: true, stderr: "hwcap-runtime: refusing restore under policy enforce: container c1: restored, but the eBPF backend cannot mask its tasks again: mask pid: operation not permitted (deleted it)\n"},
		"task warn":         {policy: hwcap.Warn, failTask: true, code: 0, decision: "warned", stderr: "hwcap-runtime: container c1: restored, but the eBPF backend cannot mask its tasks again: mask pid: operation not permitted; policy warn: it runs, and what it execs is not masked\n"},
		"failed and shared": {policy: hwcap.Warn, failTask: true, inSelf: true, code: 0, decision: "warned", stderr: "policy warn"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rt := filepath.Join(dir, "runc")
			calls := filepath.Join(dir, "calls")
			script := "#!/bin/sh\necho \"$*\" >> " + calls + "\ncase \" $* \" in *' state '*) printf '{\"id\":\"c1\",\"pid\":" + strconv.Itoa(initPID) + "}';; esac\n"
			if err := os.WriteFile(rt, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(dir, "node.log")
			fb := &fakeBackend{tasks: map[int]hwcap.Words{}, cgroups: map[uint64]hwcap.Words{}}
			if tc.failTask {
				fb.failPID = child
			}
			var stderr bytes.Buffer
			var spawned []string
			args := []string{"--root", "/r", "restore", "-d", "--image-path", "/img", "c1"}
			w := &Wrapper{
				Args: append([]string{"hwcap-runtime"}, args...), Environ: []string{"A=1"},
				Stderr: &stderr, Now: time.Now,
				Exec: func(string, []string, []string) error { t.Error("exec'd instead of spawning"); return errors.New("no") },
				Spawn: func(path string, argv, env []string) (int, error) {
					spawned = argv
					return tc.restore, nil
				},
				BPF: func() (RestoreBackend, error) { return fb, nil },
				Cgroup: func(pid int) (*bpf.Cgroup, error) {
					if pid == os.Getpid() || tc.inSelf {
						return self, nil
					}
					return ctr, nil
				},
				inv:     Parse(args),
				node:    &config.Node{LogFile: logFile, DefaultPolicy: hwcap.Enforce},
				runtime: rt,
				masked:  &enforce.Outcome{Backend: enforce.BackendBPF, Decision: hwcap.DecisionMasked},
				rec:     &Record{ID: "c1", Mask: &Mask{Keep: keep, Policy: tc.policy}},
			}
			if !w.reapplyAfterRestore() {
				t.Fatal("reapplyAfterRestore is false")
			}
			code := w.exit(w.restoreBPF(w.rec))
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if want := append([]string{rt}, args...); strings.Join(spawned, " ") != strings.Join(want, " ") {
				t.Errorf("spawned %q, want %q", spawned, want)
			}
			if tc.stderr == "" && stderr.Len() != 0 || !strings.Contains(stderr.String(), tc.stderr) || strings.Count(stderr.String(), "\n") > 1 {
				t.Errorf("stderr %q, want one line with %q", stderr.String(), tc.stderr)
			}
			got, _ := os.ReadFile(calls)
			if deleted := strings.Contains(string(got), "--root /r delete --force c1"); deleted != tc.deleted {
				t.Errorf("runtime calls %q: deleted %v, want %v", got, deleted, tc.deleted)
			}
			if tc.decision == "" {
				if len(got) != 0 || len(fb.tasks) != 0 {
					t.Errorf("a failed restore re-applied: calls %q, tasks %v", got, fb.tasks)
				}
				return
			}
			if !fb.closed {
				t.Error("backend not closed")
			}
			if !tc.failTask && (len(fb.tasks) != tc.tasks || fb.tasks[initPID] != keep || fb.tasks[child] != keep) {
				t.Errorf("tasks %v, want init %d and child %d with %s", fb.tasks, initPID, child, keep)
			}
			if m, ok := fb.cgroups[ctr.ID]; ok != tc.cgroupMask || (ok && m != keep) || len(fb.cgroups) > 1 {
				t.Errorf("cgroups %v, want %d registered: %v", fb.cgroups, ctr.ID, tc.cgroupMask)
			}
			data, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			var r map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
				t.Fatal(err)
			}
			if r["decision"] != tc.decision || r["backend"] != "bpf" || r["stage"] != "restore" {
				t.Errorf("node log %v, want decision %s, backend bpf", r, tc.decision)
			}
			if tc.inSelf && !tc.failTask && !strings.HasPrefix(r["cgroup"].(string), "none: cgroup /user.slice/test also holds hwcap-runtime") {
				t.Errorf("cgroup field %v", r["cgroup"])
			}
		})
	}
}

// TestReapplyOnlyDetachedBPF: only a detached restore masked by the eBPF
// backend itself is run as a child; the series, a mask the host side
// set (ByHost), a foreground restore and other commands exec as before.
func TestReapplyOnlyDetachedBPF(t *testing.T) {
	rec := &Record{ID: "c1", Mask: &Mask{Keep: hwcap.All}}
	for name, tc := range map[string]struct {
		args []string
		out  *enforce.Outcome
		want bool
	}{
		"detached bpf":       {[]string{"restore", "-d", "c1"}, &enforce.Outcome{Backend: enforce.BackendBPF}, true},
		"--detach=true":      {[]string{"restore", "--detach=true", "c1"}, &enforce.Outcome{Backend: enforce.BackendBPF}, true},
		"--detach=false":     {[]string{"restore", "--detach=false", "c1"}, &enforce.Outcome{Backend: enforce.BackendBPF}, false},
		"foreground":         {[]string{"restore", "c1"}, &enforce.Outcome{Backend: enforce.BackendBPF}, false},
		"series":             {[]string{"restore", "-d", "c1"}, &enforce.Outcome{Backend: enforce.BackendSeries}, false},
		"by host":            {[]string{"restore", "-d", "c1"}, &enforce.Outcome{Backend: enforce.BackendBPF, ByHost: true}, false},
		"warned, no backend": {[]string{"restore", "-d", "c1"}, &enforce.Outcome{Backend: enforce.BackendNone}, false},
		"no mask":            {[]string{"restore", "-d", "c1"}, nil, false},
		"run -d":             {[]string{"run", "-d", "c1"}, &enforce.Outcome{Backend: enforce.BackendBPF}, false},
	} {
		w := &Wrapper{inv: Parse(tc.args), masked: tc.out, rec: rec}
		if tc.out == nil {
			w.rec = nil
		}
		if got := w.reapplyAfterRestore(); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// TestSpawn runs a real child the way execve would have: argv, env, the
// exit code, a signal's 128+N, and a descriptor inherited without
// close-on-exec at its own number.
func TestSpawn(t *testing.T) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil { // no O_CLOEXEC: inherited
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(p[0]), "r")
	defer r.Close()
	wfd := p[1]
	code, err := spawn("/bin/sh", []string{"sh", "-c", `echo "$0 $X" >&` + strconv.Itoa(wfd) + `; exit 7`}, []string{"X=fromenv"})
	unix.Close(wfd)
	if err != nil || code != 7 {
		t.Fatalf("spawn: %d %v, want 7", code, err)
	}
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	if got := string(buf[:n]); got != "sh fromenv\n" {
		t.Errorf("child wrote %q through the inherited descriptor", got)
	}
	if code, err := spawn("/bin/sh", []string{"sh", "-c", "kill -TERM $$"}, nil); err != nil || code != 128+int(syscall.SIGTERM) {
		t.Errorf("signalled child: %d %v", code, err)
	}
	if _, err := spawn("/nonexistent/runc", []string{"runc"}, nil); err == nil {
		t.Error("spawn of a missing binary succeeded")
	}
}
