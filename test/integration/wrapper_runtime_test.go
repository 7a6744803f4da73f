package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// wrapped returns a testutil.Runtime that runs hwcap-runtime in place of
// the real runtime rt, sharing its --root (and crun's cgroup workaround).
func wrapped(t *testing.T, rt *testutil.Runtime) *testutil.Runtime {
	t.Helper()
	return &testutil.Runtime{Name: rt.Name, Bin: wrapperBinary(t), Root: rt.Root, Unshare: rt.Unshare, Timeout: rt.Timeout}
}

// detached runs a runtime command whose container keeps stdio open
// (testutil.Run gives it files, so that waiting for the command does not
// wait for the container) and returns its exit code and output.
func detached(t *testing.T, r *testutil.Runtime, dir string, env []string, args ...string) (code int, stderr string) {
	t.Helper()
	res := testutil.Run(t, r.Cmd(dir, env, args...))
	if res.Code < 0 {
		t.Fatal(res.Report())
	}
	return res.Code, res.Combined()
}

func forEachRuntime(t *testing.T, f func(t *testing.T, rt *testutil.Runtime)) {
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) {
			f(t, testutil.RequireRuntime(t, name))
		})
	}
}

// TestWrapperRealRuntime runs containers through hwcap-runtime with the
// real runc and crun: run prints, exec works, and state, list and ps
// print exactly what the plain runtime prints.
func TestWrapperRealRuntime(t *testing.T) {
	forEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		node := newWrapperNode(t, "enforce", map[string]any{"runtimes": []string{rt.Name}})
		env := node.env("") // the node configuration picks the runtime
		w := wrapped(t, rt)

		t.Run("run prints", func(t *testing.T) {
			b := testutil.NewBundle(t, "sh", "-c", "echo hello from $0", "container")
			b.Write(t)
			id := testutil.ID("wrap-run")
			res := w.Exec(t, b.Dir, env, "run", "--bundle", b.Dir, id)
			if res.Err != nil || res.Stdout != "hello from container\n" {
				t.Fatalf("run: %v, stdout %q, stderr %q", res.Err, res.Stdout, res.Stderr)
			}
		})

		t.Run("exec and state", func(t *testing.T) {
			b := testutil.NewBundle(t, "sleep", "120")
			b.Write(t)
			id := testutil.ID("wrap-exec")
			t.Cleanup(func() { detached(t, rt, "/", nil, "delete", "--force", id) })
			if code, out := detached(t, w, b.Dir, env, "create", "--bundle", b.Dir, id); code != 0 {
				t.Fatalf("create through the wrapper: exit %d: %s", code, out)
			}
			if res := w.Exec(t, "/", env, "start", id); res.Err != nil {
				t.Fatalf("start: %v", res.Err)
			}
			res := w.Exec(t, "/", env, "exec", id, "sh", "-c", "echo exec works in $(cat /proc/sys/kernel/hostname)")
			if res.Err != nil || res.Stdout != "exec works in hwcap-test\n" {
				t.Fatalf("exec: %v, stdout %q", res.Err, res.Stdout)
			}
			for _, args := range [][]string{
				{"state", id}, {"list"}, {"list", "--format", "json"}, {"ps", "--format", "json", id},
				{"state", "no-such-container"},
			} {
				plain := rt.Exec(t, "/", nil, args...)
				via := w.Exec(t, "/", env, args...)
				if via.Stdout != plain.Stdout {
					t.Errorf("%q stdout through the wrapper differs:\n%q\nplain:\n%q", args, via.Stdout, plain.Stdout)
				}
				if (plain.Err == nil) != (via.Err == nil) {
					t.Errorf("%q: plain err %v, wrapped err %v", args, plain.Err, via.Err)
				}
				if args[0] == "state" && args[1] == id && !strings.Contains(plain.Stdout, `"status": "running"`) {
					t.Errorf("state %q does not say running", plain.Stdout)
				}
			}
			if rt.Name == "runc" {
				plain, via := rt.Exec(t, "/", nil, "features"), w.Exec(t, "/", env, "features")
				if plain.Err != nil || via.Stdout != plain.Stdout {
					t.Errorf("features differ: %q vs %q", via.Stdout, plain.Stdout)
				}
			}
			rec := filepath.Join(node.RunDir, "containers")
			if n := countRecords(t, rec, id); n != 1 {
				t.Errorf("%d records for %s after create, want 1", n, id)
			}
			if res := w.Exec(t, "/", env, "delete", "--force", id); res.Err != nil {
				t.Fatalf("delete: %v", res.Err)
			}
			if n := countRecords(t, rec, id); n != 0 {
				t.Errorf("%d records for %s after delete, want 0", n, id)
			}
		})
	})
}

// countRecords counts the records of container id, the Go wrapper's or
// the C front end's (id.json in the store of any root).
func countRecords(t *testing.T, dir, id string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestWrapperPolicy masks a container through the wrapper. On a kernel
// that does not pass masks on, enforce refuses create with one line in the
// runtime's error output and in its --log file; warn runs, logs, and masks
// exec'd processes the same way (from the record, or from the runtime's
// state when the record is gone).
func TestWrapperPolicy(t *testing.T) {
	feature := hostFeatureName(t)
	forEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		w := wrapped(t, rt)

		t.Run("enforce", func(t *testing.T) {
			node := newWrapperNode(t, "enforce", nil)
			env := node.env(rt.Bin)
			b := testutil.NewBundle(t, "echo", "should not run")
			b.Spec.Annotations = map[string]string{"hwcap.dev/deny": feature}
			b.Write(t)
			id := testutil.ID("wrap-enf")
			logFile := filepath.Join(t.TempDir(), "log.json")
			res := w.Exec(t, b.Dir, env, "--log", logFile, "--log-format", "json", "create", "--bundle", b.Dir, id)
			logs := node.nodeLog(t)
			if len(logs) != 1 {
				t.Fatalf("node log has %d lines, want 1: %v", len(logs), logs)
			}
			if logs[0]["decision"] == "masked" {
				// A kernel with the inheritance series: create works.
				if res.Err != nil {
					t.Fatalf("masked create failed: %v", res.Err)
				}
				return
			}
			if logs[0]["decision"] != "refused" {
				t.Fatalf("decision %v, want refused or masked", logs[0]["decision"])
			}
			if res.Err == nil {
				t.Fatalf("create succeeded under enforce on a kernel that does not pass masks on")
			}
			const reason = "does not pass HWCAP masks to child processes"
			l := lines(res.Stderr)
			if len(l) != 1 || !strings.HasPrefix(l[0], "hwcap-runtime: container "+id+": policy enforce: kernel ") || !strings.Contains(l[0], reason) {
				t.Errorf("stderr %q, want one line with the reason", res.Stderr)
			}
			if res.Stdout != "" {
				t.Errorf("stdout %q", res.Stdout)
			}
			rl := readJSONLines(t, logFile)
			if len(rl) != 1 || rl[0]["level"] != "error" || rl[0]["msg"] != l[0] {
				t.Errorf("--log file %v, want one error line %q", rl, l[0])
			}
			if _, err := time.Parse(time.RFC3339Nano, rl[0]["time"].(string)); err != nil {
				t.Errorf("log time: %v", err)
			}
			if st := rt.Exec(t, "/", nil, "state", id); st.Err == nil {
				t.Errorf("the container exists after a refused create")
			}
		})

		t.Run("warn", func(t *testing.T) {
			node := newWrapperNode(t, "warn", nil)
			env := node.env(rt.Bin)
			logFile := filepath.Join(t.TempDir(), "log.txt")
			b := testutil.NewBundle(t, "sh", "-c", "echo ran under warn")
			b.Spec.Annotations = map[string]string{"hwcap.dev/deny": feature}
			b.Write(t)
			id := testutil.ID("wrap-warn")
			res := w.Exec(t, b.Dir, env, "--log", logFile, "run", "--bundle", b.Dir, id)
			if res.Err != nil || res.Stdout != "ran under warn\n" {
				t.Fatalf("run under warn: %v, stdout %q", res.Err, res.Stdout)
			}
			logs := node.nodeLog(t)
			if len(logs) != 1 {
				t.Fatalf("node log: %v", logs)
			}
			if logs[0]["before"] == logs[0]["after"] {
				t.Errorf("the wrapper did not mask itself: %v", logs[0])
			}
			if logs[0]["decision"] == "masked" {
				return // a kernel with the inheritance series
			}
			if logs[0]["decision"] != "warned" {
				t.Fatalf("decision %v, want warned", logs[0]["decision"])
			}
			text, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(text), `level=warning msg="hwcap-runtime: container `+id+`: policy warn: running without the mask: kernel `) {
				t.Errorf("--log file (text format) has no warning: %q", text)
			}

			// exec into a masked container: from the record, then from state.
			b2 := testutil.NewBundle(t, "sleep", "120")
			b2.Spec.Annotations = map[string]string{"hwcap.dev/deny": feature}
			b2.Write(t)
			id2 := testutil.ID("wrap-warn-exec")
			t.Cleanup(func() { detached(t, rt, "/", nil, "delete", "--force", id2) })
			if code, out := detached(t, w, b2.Dir, env, "run", "--detach", "--bundle", b2.Dir, id2); code != 0 {
				t.Fatalf("run --detach: %d %s", code, out)
			}
			recs, _ := filepath.Glob(filepath.Join(node.RunDir, "containers", "*", id2+".json"))
			if len(recs) != 1 {
				t.Fatalf("records %q", recs)
			}
			for _, step := range []string{"record", "state"} {
				if step == "state" {
					if err := os.Remove(recs[0]); err != nil {
						t.Fatal(err)
					}
				}
				before := len(node.nodeLog(t))
				res := w.Exec(t, "/", env, "exec", id2, "echo", "exec "+step)
				if res.Err != nil || res.Stdout != "exec "+step+"\n" {
					t.Fatalf("exec (%s): %v %q", step, res.Err, res.Stdout)
				}
				logs := node.nodeLog(t)
				if len(logs) != before+1 || logs[before]["stage"] != "exec" || logs[before]["decision"] != "warned" || logs[before]["container"] != id2 {
					t.Errorf("exec (%s) not masked by the wrapper: node log %v", step, logs[before:])
				}
			}
		})
	})
}

// hostFeatureName is a feature this host has, to deny.
func hostFeatureName(t *testing.T) string {
	t.Helper()
	f, _, _ := testutil.HostFeature(t)
	return f.Name
}
