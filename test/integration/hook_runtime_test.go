package integration

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/testutil"
)

// hookForEachRuntime runs f for runc and crun (crun in its hybrid-cgroup
// workaround, as testutil sets it up).
func hookForEachRuntime(t *testing.T, f func(t *testing.T, rt *testutil.Runtime)) {
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) { f(t, testutil.RequireRuntime(t, name)) })
	}
}

// hookErrorText is where the runtime puts the hook's reason: runc embeds
// the hook's stderr in its own error; crun prints only the exit code, so
// the test asks crun (annotation run.oci.hooks.stderr) for the file.
func hookErrorText(t *testing.T, rt *testutil.Runtime, res *testutil.Result, stderrFile string) string {
	t.Helper()
	if rt.Name == "runc" {
		// runc logs logfmt: the hook's stderr is inside msg="...".
		return strings.NewReplacer(`\"`, `"`, `\n`, "\n", `\\`, `\`).Replace(res.Combined())
	}
	data, err := os.ReadFile(stderrFile)
	if err != nil {
		t.Fatalf("crun wrote no hook stderr file: %v", err)
	}
	return string(data)
}

func TestHookNoAnnotationRunsAndLogsNothing(t *testing.T) {
	hookForEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		n := newHookNode(t, "enforce", false)
		b := hookBundle(t, n, map[string]string{"io.example/unrelated": "1"}, "echo", "ran")
		res := rt.Run(t, b, testutil.ID("hook-none"))
		if res.Err != nil || strings.TrimSpace(res.Stdout) != "ran" {
			t.Fatalf("container did not run: %v: %s", res.Err, res.Combined())
		}
		if _, err := os.Stat(n.Log); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the hook touched its log without an annotation: %v %v", err, n.records(t))
		}
		if _, err := os.Stat(n.RunDir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("the hook probed without an annotation: %v", err)
		}
	})
}

func TestHookEnforceRefusesCreate(t *testing.T) {
	feat := hostFeatureName(t)
	hookForEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		n := newHookNode(t, "enforce", false)
		errFile := filepath.Join(t.TempDir(), "hook.stderr")
		marker := "ran-" + rt.Name
		b := hookBundle(t, n, map[string]string{"hwcap.dev/deny": feat, "run.oci.hooks.stderr": errFile}, "echo", marker)
		id := testutil.ID("hook-enforce")
		res := rt.Run(t, b, id)
		if res.Err == nil || strings.Contains(res.Stdout, marker) {
			t.Fatalf("container ran under enforce on a kernel without support: %s", res.Combined())
		}
		if rt.Name == "crun" && !strings.Contains(res.Combined(), "exit code: 1") {
			t.Fatalf("crun's error does not carry the hook's exit code 1 (refused): %s", res.Combined())
		}
		text := hookErrorText(t, rt, res, errFile)
		want := "hwcap-hook: container " + id + ": mask hwcap="
		for _, w := range []string{want, "(hides " + feat + ") requested by annotation hwcap.dev/deny cannot take effect: kernel ",
			"does not pass HWCAP masks to children (probe: ", ", bpf=" + bpfVerdict(t),
			") and the container is not started through hwcap-runtime or hwcap-shim (install the eBPF backend"} {
			if !strings.Contains(text, w) {
				t.Fatalf("the runtime's error lacks %q:\n%s", w, text)
			}
		}
		if got := n.decisions(t, id); strings.Join(got, " ") != "createRuntime=refused" {
			t.Fatalf("log decisions = %v", got)
		}
	})
}

func TestHookWarnRunsAndLogs(t *testing.T) {
	feat := hostFeatureName(t)
	hookForEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		n := newHookNode(t, "enforce", true)
		b := hookBundle(t, n, map[string]string{"hwcap.dev/deny": feat, "hwcap.dev/policy": "warn"}, "echo", "ran")
		id := testutil.ID("hook-warn")
		res := rt.Run(t, b, id)
		if res.Err != nil || strings.TrimSpace(res.Stdout) != "ran" {
			t.Fatalf("container did not run under warn: %v: %s", res.Err, res.Combined())
		}
		got := n.decisions(t, id)
		if len(got) < 1 || got[0] != "createRuntime=warned" {
			t.Fatalf("log decisions = %v", got)
		}
		// poststart may find echo already gone; either way it decides.
		if len(got) != 2 || (got[1] != "poststart=warned" && got[1] != "poststart=exited") {
			t.Fatalf("log decisions = %v", got)
		}
		r := n.records(t)[0]
		if r["policy"] != "warn" || !strings.Contains(r["reason"].(string), "cannot take effect") || r["mask"] == "" || r["duration_ms"] == nil ||
			r["backend"] != "none" || !strings.Contains(r["reason"].(string), "bpf="+bpfVerdict(t)) {
			t.Fatalf("record = %v", r)
		}
	})
}

func TestHookInvalidAnnotationFails(t *testing.T) {
	for name, tc := range map[string]struct {
		ann  map[string]string
		want string
	}{
		"unknown feature": {map[string]string{"hwcap.dev/deny": "sse3"}, `annotation hwcap.dev/deny: unknown feature "sse3" for `},
		"typo key":        {map[string]string{"hwcap.dev/dney": "sse2"}, `annotation hwcap.dev/dney: unknown key (did you mean hwcap.dev/deny?)`},
		"bad policy":      {map[string]string{"hwcap.dev/deny": "fpu", "hwcap.dev/policy": "maybe"}, `annotation hwcap.dev/policy: unknown policy "maybe"`},
		"conflict":        {map[string]string{"hwcap.dev/deny": "fpu", "hwcap.dev/allow": "fpu"}, `annotation hwcap.dev/deny: conflicts with hwcap.dev/allow`},
		"bad mask":        {map[string]string{"hwcap.dev/mask": "hwcap=zz"}, `annotation hwcap.dev/mask: malformed mask: "zz" is not a 64-bit number`},
	} {
		t.Run(name, func(t *testing.T) {
			hookForEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
				n := newHookNode(t, "enforce", false)
				errFile := filepath.Join(t.TempDir(), "hook.stderr")
				ann := map[string]string{"run.oci.hooks.stderr": errFile}
				for k, v := range tc.ann {
					ann[k] = v
				}
				b := hookBundle(t, n, ann, "echo", "ran")
				id := testutil.ID("hook-invalid")
				res := rt.Run(t, b, id)
				if res.Err == nil || strings.Contains(res.Stdout, "ran") {
					t.Fatalf("container ran with an invalid annotation: %s", res.Combined())
				}
				if rt.Name == "crun" && !strings.Contains(res.Combined(), "exit code: 2") {
					t.Fatalf("crun's error lacks the hook's exit code 2 (invalid): %s", res.Combined())
				}
				if text := hookErrorText(t, rt, res, errFile); !strings.Contains(text, tc.want) {
					t.Fatalf("error lacks %q:\n%s", tc.want, text)
				}
				if got := n.decisions(t, id); strings.Join(got, " ") != "createRuntime=invalid" {
					t.Fatalf("log decisions = %v", got)
				}
			})
		})
	}
}

func TestHookProfiles(t *testing.T) {
	f, _, tab := testutil.HostFeature(t)
	feat := f.Name
	var keep []string
	for _, f := range tab.Features {
		if f.Name != feat {
			keep = append(keep, `"`+f.Name+`"`)
		}
	}
	profile := `{"version":"hwcap.dev/v1","arch":"` + tab.Arch + `","allow":[` + strings.Join(keep, ",") + `]}`
	hookForEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		n := newHookNode(t, "warn", false)
		outside := filepath.Join(t.TempDir(), "outside.json")
		for path, body := range map[string]string{filepath.Join(n.Profiles, "good.json"): profile, outside: profile} {
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(outside, filepath.Join(n.Profiles, "escape.json")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../"+filepath.Base(filepath.Dir(outside))+"/outside.json", filepath.Join(n.Profiles, "relescape.json")); err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			profile, want string
		}{
			"good":          {"good", ""},
			"dotdot":        {"../" + filepath.Base(filepath.Dir(outside)) + "/outside", `annotation hwcap.dev/profile: cannot use profile: bad profile name "../`},
			"abs symlink":   {"escape", `annotation hwcap.dev/profile: cannot use profile "escape": escape.json in ` + n.Profiles + ` is a symbolic link out of the profile directory (refused)`},
			"rel symlink":   {"relescape", `is a symbolic link out of the profile directory (refused)`},
			"missing":       {"nope", `annotation hwcap.dev/profile: cannot use profile "nope": no file nope.json in`},
			"absolute name": {"/etc/passwd", `bad profile name "/etc/passwd": character '/'`},
		} {
			t.Run(name, func(t *testing.T) {
				errFile := filepath.Join(t.TempDir(), "hook.stderr")
				b := hookBundle(t, n, map[string]string{"hwcap.dev/profile": tc.profile, "run.oci.hooks.stderr": errFile}, "echo", "ran")
				id := testutil.ID("hook-profile")
				res := rt.Run(t, b, id)
				if tc.want == "" {
					if res.Err != nil || strings.TrimSpace(res.Stdout) != "ran" {
						t.Fatalf("good profile: %v: %s", res.Err, res.Combined())
					}
					if got := n.decisions(t, id); len(got) == 0 || got[0] != "createRuntime=warned" {
						t.Fatalf("log decisions = %v", got)
					}
					return
				}
				if res.Err == nil || strings.Contains(res.Stdout, "ran") {
					t.Fatalf("profile %q accepted: %s", tc.profile, res.Combined())
				}
				if text := hookErrorText(t, rt, res, errFile); !strings.Contains(text, tc.want) {
					t.Fatalf("error lacks %q:\n%s", tc.want, text)
				}
			})
		}
	})
}
