package integration

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/testutil"
)

// The decided behaviour under faults (README text in the lead's note):
//
//   - run directory unusable (a file, a read-only mount): the probe runs
//     uncached and no exec record is written; containers start as policy
//     says (warn: unmasked and logged; enforce: refused with the kernel
//     reason on a kernel without the series), and hwcap-runtime names the
//     record it could not write in the runtime's --log.
//   - log file unwritable (/dev/full, a full file system): the decision is
//     unchanged; the hook prints one warning line to stderr; a record that
//     does not fit is dropped whole, never left as half a line.
//   - hook killed by the runtime's timeout: runc aborts create with "hook
//     ran past specified timeout"; the container does not start; the hook
//     wrote nothing.
//   - runtime binary missing: hwcap-runtime exits 127 with one line naming
//     what it looked for and the setting to fix; no container is created.

// faultRun runs `hwcap-runtime run` (wrapping runc) for a busybox bundle
// with the hook's createRuntime/poststart hooks on node n.
func faultRun(t *testing.T, n *hookNode, rt *testutil.Runtime, ann map[string]string) (int, string) {
	t.Helper()
	b := hookBundle(t, n, ann, "/bin/true")
	id := testutil.ID("fault")
	t.Cleanup(func() { rt.Delete(t, id) })
	logPath := filepath.Join(t.TempDir(), "runtime.log")
	res := wrapped(t, rt).Exec(t, b.Dir, append(n.envFor(rt.Bin), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
		"--log", logPath, "run", "--bundle", b.Dir, id)
	code := 0
	var ee interface{ ExitCode() int }
	if errors.As(res.Err, &ee) {
		code = ee.ExitCode()
	} else if res.Err != nil {
		t.Fatal(res.Err)
	}
	logText, _ := os.ReadFile(logPath)
	return code, res.Stderr + string(logText)
}

// setNode rewrites the hook node's configuration with extra fields.
func setNode(t *testing.T, n *hookNode, policy string, extra map[string]any) {
	t.Helper()
	cfg := map[string]any{
		"defaultPolicy": policy, "profileDir": n.Profiles, "logFile": n.Log, "runDir": n.RunDir,
		"shimPath": hookBinaries(t)["hwcap-shim"],
	}
	for k, v := range extra {
		cfg[k] = v
	}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(n.Config, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mountTmpfs(t *testing.T, dir string, flags uintptr, opts string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
}

func TestFaultRunDirUnusable(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	feat := hostFeatureName(t)
	for _, kind := range []string{"file", "read-only"} {
		t.Run(kind, func(t *testing.T) {
			n := newHookNode(t, "warn", false)
			switch kind {
			case "file":
				if err := os.WriteFile(n.RunDir, []byte("not a directory\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			case "read-only":
				mountTmpfs(t, n.RunDir, unix.MS_RDONLY, "size=64k")
			}
			code, out := faultRun(t, n, rt, map[string]string{"hwcap.dev/deny": feat})
			if code != 0 {
				t.Fatalf("warn: masked container exit %d: %s", code, out)
			}
			if !strings.Contains(out, "bad container record") || !strings.Contains(out, "a later exec will ask") {
				t.Errorf("the runtime log does not say the record could not be written: %s", out)
			}
			got := n.records(t)
			if len(got) == 0 || got[0]["decision"] != "warned" {
				t.Errorf("node log = %v", got)
			}
			if code, out := faultRun(t, n, rt, nil); code != 0 {
				t.Errorf("unmasked container exit %d: %s", code, out)
			}
			setNode(t, n, "enforce", nil)
			code, out = faultRun(t, n, rt, map[string]string{"hwcap.dev/deny": feat})
			if code != 1 || !strings.Contains(out, "policy enforce: kernel") || !strings.Contains(out, "does not pass HWCAP masks") {
				t.Errorf("enforce: exit %d, want 1 with the kernel reason: %s", code, out)
			}
		})
	}
}

// wholeLines fails unless every line of path is a JSON record; it returns
// the number of records.
func wholeLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s ends in the middle of a line: %q", path, data[max(0, len(data)-80):])
	}
	k := 0
	s := bufio.NewScanner(strings.NewReader(string(data)))
	for s.Scan() {
		var m map[string]any
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			t.Errorf("%s: half-written line %q", path, s.Text())
		}
		k++
	}
	return k
}

func TestFaultLogFull(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	feat := hostFeatureName(t)
	t.Run("dev-full", func(t *testing.T) {
		n := newHookNode(t, "warn", false)
		setNode(t, n, "warn", map[string]any{"logFile": "/dev/full"})
		code, out := faultRun(t, n, rt, map[string]string{"hwcap.dev/deny": feat})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		// The hook's own warning goes to runc, which shows hook output
		// only on failure: run the guard directly to see it.
		c, stderr := runHook(t, n, "createRuntime", map[string]any{"id": "direct", "pid": 0, "bundle": t.TempDir(),
			"annotations": map[string]string{"hwcap.dev/deny": feat}})
		if c != 0 || !strings.Contains(stderr, "hwcap-hook: warning: open log /dev/full: not a regular file") {
			t.Errorf("guard: exit %d, stderr %q", c, stderr)
		}
	})
	t.Run("tmpfs-full", func(t *testing.T) {
		n := newHookNode(t, "warn", false)
		logDir := filepath.Dir(n.Log)
		mountTmpfs(t, logDir, 0, "size=16k")
		// One record so that the log owns a partly used page, then fill the
		// file system: the next records cross into a page that cannot be
		// allocated, which is where a line could be cut.
		if code, out := faultRun(t, n, rt, map[string]string{"hwcap.dev/deny": feat}); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		before := wholeLines(t, n.Log)
		if before == 0 {
			t.Fatal("no record before filling the disk")
		}
		fill, err := os.Create(filepath.Join(logDir, "filler"))
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := fill.Write(make([]byte, 512)); err != nil {
				break
			}
		}
		fill.Close()
		for i := 0; i < 12; i++ {
			if code, out := faultRun(t, n, rt, map[string]string{"hwcap.dev/deny": feat}); code != 0 {
				t.Fatalf("disk full, run %d: exit %d: %s", i, code, out)
			}
			c, stderr := runHook(t, n, "createRuntime", map[string]any{"id": "direct", "pid": 0, "bundle": t.TempDir(),
				"annotations": map[string]string{"hwcap.dev/deny": feat}})
			if c != 0 {
				t.Fatalf("guard on a full disk: exit %d: %s", c, stderr)
			}
		}
		after := wholeLines(t, n.Log)
		t.Logf("records: %d before the disk filled, %d after", before, after)
		// With space again, logging resumes with whole lines.
		if err := os.Remove(filepath.Join(logDir, "filler")); err != nil {
			t.Fatal(err)
		}
		if code, out := faultRun(t, n, rt, map[string]string{"hwcap.dev/deny": feat}); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		if final := wholeLines(t, n.Log); final <= after {
			t.Errorf("no new record after space was freed (%d, then %d)", after, final)
		}
	})
}

// TestFaultKilledHook blocks the real hwcap-hook inside open(2) of its node
// configuration (a fanotify permission event that the test never answers
// in time), so that runc's hook timeout kills it mid-run.
func TestFaultKilledHook(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	feat := hostFeatureName(t)
	n := newHookNode(t, "warn", false)
	fan, err := unix.FanotifyInit(unix.FAN_CLASS_CONTENT|unix.FAN_CLOEXEC, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("fanotify_init: %v", err)
	}
	closed := false
	closeFan := func() {
		if !closed {
			unix.Close(fan)
			closed = true
		}
	}
	t.Cleanup(closeFan)
	if err := unix.FanotifyMark(fan, unix.FAN_MARK_ADD, unix.FAN_OPEN_PERM, unix.AT_FDCWD, n.Config); err != nil {
		t.Fatalf("fanotify_mark: %v", err)
	}
	blocked := make(chan int32, 4)
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := unix.Read(fan, buf)
			if err != nil || k < int(unsafe.Sizeof(unix.FanotifyEventMetadata{})) {
				return
			}
			md := (*unix.FanotifyEventMetadata)(unsafe.Pointer(&buf[0]))
			if md.Fd >= 0 {
				unix.Close(int(md.Fd))
			}
			blocked <- md.Pid // never answered: the opener waits
		}
	}()

	b := hookBundle(t, n, map[string]string{"hwcap.dev/deny": feat}, "/bin/true")
	b.Spec.Hooks.CreateRuntime[0].Timeout = ptr(1)
	b.Write(t)
	id := testutil.ID("killed")
	res := rt.Run(t, b, id)
	closeFan() // answers nothing more; later opens go through
	var pid int32
	select {
	case pid = <-blocked:
	default:
		t.Fatal("the hook never opened its node configuration")
	}
	if res.Err == nil || !strings.Contains(res.Combined(), "timeout") {
		t.Fatalf("runc run with a hung hook: err %v, output %q; want a hook timeout", res.Err, res.Combined())
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(int(pid))); !errors.Is(err, os.ErrNotExist) {
		// Killed, then reaped by runc.
		time.Sleep(200 * time.Millisecond)
		if _, err := os.Stat("/proc/" + strconv.Itoa(int(pid))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("hook pid %d still exists after the timeout", pid)
		}
	}
	if st := rt.Exec(t, "", nil, "state", id); st.Err == nil {
		t.Errorf("container %s exists after its hook was killed: %s", id, st.Stdout)
	}
	if k := wholeLines(t, n.Log); k != 0 {
		t.Errorf("the killed hook left %d records", k)
	}
	// Unblocked, the same bundle runs (policy warn) and is logged.
	res = rt.Run(t, b, testutil.ID("unblocked"))
	if res.Err != nil {
		t.Fatalf("after the fault: %v", res.Err)
	}
	if k := wholeLines(t, n.Log); k == 0 {
		t.Error("no record after the fault")
	}
}

func TestFaultRuntimeMissing(t *testing.T) {
	testutil.RequireRoot(t)
	n := newWrapperNode(t, "enforce", map[string]any{"runtimes": []string{"/nonexistent/runc", "no-such-runtime"}})
	b := testutil.NewBundle(t, "/bin/true")
	b.Write(t)
	for name, env := range map[string][]string{
		"config": n.env(""),
		"env":    n.env("/nonexistent/crun"),
	} {
		t.Run(name, func(t *testing.T) {
			r := &testutil.Runtime{Name: "hwcap-runtime", Bin: wrapperBinary(t), Root: filepath.Join(t.TempDir(), "root")}
			res := r.Exec(t, b.Dir, env, "create", "--bundle", b.Dir, "missing")
			var ee interface{ ExitCode() int }
			if !errors.As(res.Err, &ee) || ee.ExitCode() != 127 {
				t.Fatalf("err %v, want exit 127", res.Err)
			}
			ls := lines(res.Stderr)
			if len(ls) != 1 || !strings.HasPrefix(ls[0], "hwcap-runtime: ") || !strings.Contains(ls[0], "/nonexistent/") {
				t.Fatalf("stderr %q, want one line naming the runtime it looked for", res.Stderr)
			}
			if _, err := os.Stat(filepath.Join(r.Root, "missing")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a container state exists: %v", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
