package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

// TestWrapperBundlePhysical (issue 16, finding 2) with the real runc: with
// lnk -> deep/sub, "--bundle x/lnk/../b" is x/deep/b for runc's chdir. The
// wrapper reads that config (refusing its bad annotation), and a plain
// container is created in that directory.
func TestWrapperBundlePhysical(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	node := newWrapperNode(t, "enforce", map[string]any{"runtimes": []string{"runc"}})
	env := node.env("")
	w := wrapped(t, rt)
	b := testutil.NewBundle(t, "true")
	x := t.TempDir()
	for _, d := range []string{"deep/sub", "b"} {
		if err := os.MkdirAll(filepath.Join(x, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(b.Dir, filepath.Join(x, "deep", "b")); err != nil {
		t.Fatal(err)
	}
	b.Dir = filepath.Join(x, "deep", "b")
	if err := os.Symlink("deep/sub", filepath.Join(x, "lnk")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x, "b", "config.json"), []byte(`{"ociVersion":"1.0.2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	given := x + "/lnk/../b"

	b.Spec.Annotations = map[string]string{"hwcap.dev/deny": "nosuchfeature"}
	b.Write(t)
	id := testutil.ID("phys-bad")
	t.Cleanup(func() { detached(t, rt, "/", nil, "delete", "--force", id) })
	code, out := detached(t, w, "/", env, "create", "--bundle", given, id)
	if code != 1 || len(lines(out)) != 1 || !strings.Contains(out, `unknown feature "nosuchfeature"`) {
		t.Fatalf("create: exit %d, output %q; want 1 and one line naming the annotation of x/deep/b", code, out)
	}
	if res := rt.Exec(t, "/", nil, "state", id); res.Err == nil {
		t.Fatalf("runc created the container: %s", res.Stdout)
	}

	b.Spec.Annotations = nil
	b.Write(t)
	id2 := testutil.ID("phys-ok")
	t.Cleanup(func() { detached(t, rt, "/", nil, "delete", "--force", id2) })
	if code, out := detached(t, w, "/", env, "create", "--bundle", given, id2); code != 0 {
		t.Fatalf("create: exit %d: %s", code, out)
	}
	res := rt.Exec(t, "/", nil, "state", id2)
	var st struct {
		Bundle string `json:"bundle"`
	}
	if res.Err != nil || json.Unmarshal([]byte(res.Stdout), &st) != nil || st.Bundle != b.Dir {
		t.Fatalf("state %q, %v; want bundle %s", res.Stdout, res.Err, b.Dir)
	}
}

// TestWrapperExecWithoutRecord (issue 16, finding 3) with the real runc:
// its "container does not exist" lets the exec through (runc reports it);
// a state it cannot answer (a corrupt state.json, no record) fails the
// exec under enforce with one line, and is logged and passed under warn.
func TestWrapperExecWithoutRecord(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	bin := wrapperBinary(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "broken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "broken", "state.json"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, policy := range []string{"enforce", "warn"} {
		t.Run(policy, func(t *testing.T) {
			node := newWrapperNode(t, policy, map[string]any{"runtimes": []string{rt.Bin}})
			env := node.env("")
			res := runWrapper(t, bin, "/", env, 30*time.Second, "--root", root, "exec", "nosuch", "true")
			if res.code == 0 || strings.Contains(res.stderr, "hwcap-runtime") || !strings.Contains(res.stderr, "container does not exist") {
				t.Errorf("exec of an unknown container: exit %d stderr %q; want runc's own answer", res.code, res.stderr)
			}
			res = runWrapper(t, bin, "/", env, 30*time.Second, "--root", root, "exec", "broken", "true")
			l := lines(res.stderr)
			if policy == "enforce" {
				if res.code != 1 || len(l) != 1 || !strings.HasPrefix(l[0], "hwcap-runtime: container broken: cannot tell whether the container asked for a mask") ||
					!strings.Contains(l[0], "invalid character") || !strings.Contains(l[0], "refusing the exec under policy enforce") {
					t.Errorf("exec with a broken state: exit %d stderr %q; want one refusal line", res.code, res.stderr)
				}
			} else if res.code == 0 || len(l) < 2 || !strings.Contains(l[0], "policy warn: running the exec without a mask") {
				t.Errorf("exec with a broken state under warn: exit %d stderr %q; want the warning, then runc's own error", res.code, res.stderr)
			}
			want := map[string]string{"enforce": "failed", "warn": "warned"}[policy]
			if logs := node.nodeLog(t); len(logs) != 1 || logs[0]["decision"] != want || logs[0]["container"] != "broken" {
				t.Errorf("node log %v, want one %q line for container broken", logs, want)
			}
		})
	}
}
