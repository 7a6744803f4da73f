package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
	"github.com/hwcap/hwcap/internal/wrapper"
)

// TestWrapperFrontEnd runs real runc containers through hwcap-runtime and
// traces the wrapper process (the wrapper, then the runtime it becomes):
// for a container without hwcap.dev/ keys, create, start, exec and state
// exec runc before the Go runtime starts (no rt_sigaction): create leaves
// the container's record, as the Go wrapper would, and exec finds it; a
// container that asks for a mask always goes through the Go wrapper,
// which masks it and leaves its record with the mask; delete removes
// each.
func TestWrapperFrontEnd(t *testing.T) {
	strace := testutil.RequireCommand(t, "strace")
	rt := testutil.RequireRuntime(t, "runc")
	feature := hostFeatureName(t)
	node := newWrapperNode(t, "warn", map[string]any{"runtimes": []string{rt.Bin}})
	env := node.env("")
	bin := wrapperBinary(t)

	// traced runs the wrapper under strace with stdio in a file (the
	// container keeps a created container's stdio open).
	traced := func(args ...string) (started bool, code int) {
		t.Helper()
		trace := filepath.Join(t.TempDir(), "trace")
		// -f: Go execs from any thread; -b execve: let go of the runtime
		// (and of a created container, which outlives the command).
		argv := append([]string{strace, "-f", "-b", "execve", "-qq", "-o", trace, "-e", "trace=execve,rt_sigaction", bin, "--root", rt.Root}, args...)
		res := testutil.Run(t, testutil.Cmd{Argv: argv, Env: env, Dir: "/", Timeout: 60 * time.Second})
		tr, _ := os.ReadFile(trace)
		if !bytes.Contains(tr, []byte(`execve("`+rt.Bin+`"`)) {
			t.Fatalf("%v: runc was never exec'd:\n%s", args, tr)
		}
		return goStarted(t, trace, rt.Bin), res.Code
	}
	want := func(args []string, wantGo bool) {
		t.Helper()
		g, code := traced(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		if g != wantGo {
			t.Fatalf("%v: Go runtime started: %v, want %v", args, g, wantGo)
		}
	}
	recs := filepath.Join(node.RunDir, "containers")

	// The first call loads the node configuration in Go and writes the
	// front file; from then on the front end knows the runtime.
	want([]string{"list"}, true)
	want([]string{"list"}, false)

	plain := testutil.NewBundle(t, "sleep", "120")
	plain.Spec.Annotations = map[string]string{"io.kubernetes.pod.name": "web"}
	plain.Write(t)
	id := testutil.ID("front")
	t.Cleanup(func() { _ = rt.Exec(t, "/", nil, "delete", "--force", id) })
	want([]string{"create", "--bundle", plain.Dir, "--pid-file", filepath.Join(t.TempDir(), "pid"), id}, false)
	store := wrapper.StoreFor(node.RunDir, rt.Root, rt.Bin)
	if rec, err := store.Get(id); err != nil || rec == nil || rec.Mask != nil || rec.Config != filepath.Join(plain.Dir, "config.json") || !rec.Current() {
		t.Fatalf("record %s: %+v, %v", store.Path(id), rec, err)
	}
	want([]string{"start", id}, false)
	want([]string{"exec", id, "true"}, false)
	want([]string{"state", id}, false)
	want([]string{"delete", "--force", id}, true) // records: the Go wrapper's
	if n := countRecords(t, recs, id); n != 0 {
		t.Errorf("%d records left for %s after delete", n, id)
	}

	masked := testutil.NewBundle(t, "sleep", "120")
	masked.Spec.Annotations = map[string]string{"hwcap.dev/deny": feature}
	masked.Write(t)
	id2 := testutil.ID("front-masked")
	t.Cleanup(func() { _ = rt.Exec(t, "/", nil, "delete", "--force", id2) })
	want([]string{"create", "--bundle", masked.Dir, id2}, true)
	if rec, err := store.Get(id2); err != nil || rec == nil || rec.Mask == nil {
		t.Fatalf("record of the masked container: %+v, %v", rec, err)
	}
	want([]string{"start", id2}, false)
	want([]string{"exec", id2, "true"}, true) // the record's mask
	want([]string{"delete", "--force", id2}, true)

	// HWCAP_FRONT=off: the Go wrapper for everything.
	env = append(env, "HWCAP_FRONT=off")
	want([]string{"list"}, true)
}
