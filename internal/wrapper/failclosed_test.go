package wrapper

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// oneLine checks that stderr is exactly one line without raw control
// bytes and that it holds want.
func checkOneLine(t *testing.T, stderr, want string) {
	t.Helper()
	if !strings.HasSuffix(stderr, "\n") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
	for _, r := range strings.TrimSuffix(stderr, "\n") {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			t.Errorf("stderr has control character %U: %q", r, stderr)
			break
		}
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
}

// TestCreateRefusesAmbiguousMembers (issue 16, finding 1): a later
// "annotations" member (null, empty, or spelt in another case) must not
// erase the mask request: create is refused, the runtime never runs.
func TestCreateRefusesAmbiguousMembers(t *testing.T) {
	for name, cfg := range map[string]string{
		"null after":        `{"ociVersion":"1.0.2","annotations":{"hwcap.dev/deny":"sse2"},"annotations":null}`,
		"cased null after":  `{"ociVersion":"1.0.2","annotations":{"hwcap.dev/deny":"sse2"},"Annotations":null}`,
		"empty before":      `{"ociVersion":"1.0.2","annotations":{},"annotations":{"hwcap.dev/deny":"sse2"}}`,
		"escaped, null":     `{"ociVersion":"1.0.2","annotations":{"hwcap\u002edev/deny":"sse2"},"annotations":null}`,
		"control chars key": "{\"annotations\":{\"hwcap.dev/deny\\u001b[1A\\nhwcap-runtime: container c1: masked\":\"a\",\"hwcap.dev/deny\\u001b[1A\\nhwcap-runtime: container c1: masked\":\"b\"}}",
	} {
		t.Run(name, func(t *testing.T) {
			bundle := writeBundle(t, cfg)
			h := newHarness(t, bundle)
			if code := h.run("/", "create", "--bundle", bundle, "c1"); code != ExitRefused || h.execed != nil {
				t.Fatalf("exit %d, exec %q; want %d and no exec (stderr %q)", code, h.execed, ExitRefused, h.stderr.String())
			}
			checkOneLine(t, h.stderr.String(), "duplicate member")
		})
	}
}

// physicalBundle builds x/deep/sub, x/lnk -> deep/sub, x/b/config.json
// (plain) and x/deep/b/config.json (cfg): "x/lnk/../b" is x/b as text and
// x/deep/b for the kernel.
func physicalBundle(t *testing.T, cfg string) (x string) {
	t.Helper()
	x = t.TempDir()
	for _, d := range []string{"deep/sub", "b", "deep/b"} {
		if err := os.MkdirAll(filepath.Join(x, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("deep/sub", filepath.Join(x, "lnk")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x, "b", "config.json"), []byte(`{"ociVersion":"1.0.2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x, "deep", "b", "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestCreateReadsBundlePhysically (issue 16, finding 2): the wrapper reads
// the config.json the runtime will read after chdir(bundle), not the one
// the bundle path names as text.
func TestCreateReadsBundlePhysically(t *testing.T) {
	x := physicalBundle(t, `{"annotations":{"hwcap.dev/deny":"nosuchfeature"}}`)
	for name, tc := range map[string]struct{ cwd, bundle string }{
		"absolute": {"/", x + "/lnk/../b"},
		"relative": {x, "lnk/../b"},
		"cwd":      {x + "/lnk/../b", ""},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, x)
			args := []string{"create", "c1"}
			if tc.bundle != "" {
				args = []string{"create", "--bundle", tc.bundle, "c1"}
			}
			if tc.cwd != "/" {
				// A relative bundle is resolved against the process's
				// directory, as the runtime's chdir resolves it.
				old, _ := os.Getwd()
				if err := os.Chdir(tc.cwd); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = os.Chdir(old) })
			}
			if code := h.run(tc.cwd, args...); code != ExitRefused || h.execed != nil {
				t.Fatalf("exit %d, exec %q: the wrapper read x/b/config.json, the runtime reads x/deep/b (stderr %q)", code, h.execed, h.stderr.String())
			}
			checkOneLine(t, h.stderr.String(), `unknown feature "nosuchfeature"`)
		})
	}
}

// stateRuntime writes a fake runtime whose "state" runs body (a shell
// snippet); every other command exits 0.
func stateRuntime(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-runc")
	script := "#!/bin/sh\ncase \" $* \" in *' state '*) " + body + ";; esac\nexit 0\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExecWithoutRecordFailsClosed (issue 16, finding 3): with no record,
// only a definite "container does not exist" from the runtime's state lets
// exec pass through; a failure of another kind refuses the exec under
// enforce. The fake runtime pins what state answers (the real runc's
// answer is in test/integration).
func TestExecWithoutRecordFailsClosed(t *testing.T) {
	for name, tc := range map[string]struct {
		body string
		pass bool
	}{
		"runc does not exist":      {`echo 'time="2026-01-01T00:00:00Z" level=error msg="container does not exist"' >&2; exit 1`, true},
		"runc json does not exist": {`echo '{"level":"error","msg":"container does not exist","time":"x"}' >&2; exit 1`, true},
		"crun does not exist":      {`for a; do last=$a; done; echo "error opening file \` + "`" + `/run/crun/$last/status\` + "`" + `: No such file or directory" >&2; exit 1`, true},
		"other error":              {`echo 'permission denied' >&2; exit 1`, false},
		"control chars in error":   {`printf 'container \033[2K\nhwcap-runtime: container c1: masked\n' >&2; exit 1`, false},
		"control chars in bundle":  {`printf '{"bundle":"/x\\u001b[2K\\nforged"}'`, false},
		"killed":                   {`kill -9 $$`, false},
		"garbage":                  {`echo 'not json'`, false},
		"exit 0 no bundle":         {`echo '{"id":"c1"}'`, false},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, "/nonexistent")
			t.Setenv(EnvRuntime, stateRuntime(t, tc.body))
			code := h.run("/", "exec", "c1", "true")
			if tc.pass {
				if h.execed == nil {
					t.Fatalf("exit %d, not passed through: %q", code, h.stderr.String())
				}
				return
			}
			if code != ExitRefused || h.execed != nil {
				t.Fatalf("exit %d, exec %q; want %d, no exec (stderr %q)", code, h.execed, ExitRefused, h.stderr.String())
			}
			checkOneLine(t, h.stderr.String(), "container c1")
		})
	}
}

// TestCreatePassesPhysicalBundle: the runtime is given the directory the
// wrapper read the config from (its physical path), and the record names
// it; a bundle given as its physical path is passed on byte for byte.
func TestCreatePassesPhysicalBundle(t *testing.T) {
	x := physicalBundle(t, `{"ociVersion":"1.0.2"}`)
	phys := filepath.Join(x, "deep", "b")
	h := newHarness(t, x)
	h.run("/", "--root", "/r", "create", "--bundle="+x+"/lnk/../b", "c1")
	if want := []string{h.runtime, "--root", "/r", "create", "--bundle=" + phys, "c1"}; !reflect.DeepEqual(h.execed, want) {
		t.Fatalf("exec %q, want %q (stderr %q)", h.execed, want, h.stderr.String())
	}
	rec, err := StoreFor(h.runDir, "/r", h.runtime).Get("c1")
	if err != nil || rec == nil || rec.Bundle != phys || rec.Config != phys+"/config.json" || !rec.Current() {
		t.Fatalf("record %+v, %v", rec, err)
	}
	h.run("/", "create", "-b", phys, "c2")
	if want := []string{h.runtime, "create", "-b", phys, "c2"}; !reflect.DeepEqual(h.execed, want) {
		t.Fatalf("exec %q, want %q", h.execed, want)
	}
}

// TestExecStateTimeout: a state that hangs fails the exec under enforce
// and lets it run, logged, under warn.
func TestExecStateTimeout(t *testing.T) {
	old := stateTimeout
	stateTimeout = 300 * time.Millisecond
	t.Cleanup(func() { stateTimeout = old })
	for _, policy := range []string{"enforce", "warn"} {
		t.Run(policy, func(t *testing.T) {
			h := newHarness(t, "/nonexistent")
			logFile := filepath.Join(h.dir, "node.log")
			cfg := filepath.Join(h.dir, "node.json")
			if err := os.WriteFile(cfg, []byte(`{"runDir":"`+h.runDir+`","logFile":"`+logFile+`","profileDir":"/nonexistent","defaultPolicy":"`+policy+`"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv(EnvRuntime, stateRuntime(t, `exec sleep 30`))
			start := time.Now()
			code := h.run("/", "exec", "c1", "true")
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %s", d)
			}
			if policy == "enforce" {
				if code != ExitRefused || h.execed != nil {
					t.Fatalf("exit %d exec %q", code, h.execed)
				}
				checkOneLine(t, h.stderr.String(), "did not answer within 300ms; refusing the exec under policy enforce")
			} else {
				if h.execed == nil {
					t.Fatalf("exit %d, not passed through: %q", code, h.stderr.String())
				}
				// The first line; the second is the fake exec's failure.
				first, _, _ := strings.Cut(h.stderr.String(), "\n")
				checkOneLine(t, first+"\n", "policy warn: running the exec without a mask")
			}
			data, _ := os.ReadFile(logFile)
			if policy == "warn" {
				first, _, _ := strings.Cut(string(data), "\n")
				data = []byte(first + "\n")
			}
			want := `"decision":"failed"`
			if policy == "warn" {
				want = `"decision":"warned"`
			}
			if strings.Count(string(data), "\n") != 1 || !strings.Contains(string(data), want) {
				t.Errorf("node log %q, want one line with %s", data, want)
			}
		})
	}
}
