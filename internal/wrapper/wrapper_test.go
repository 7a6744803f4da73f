package wrapper

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// harness drives Wrapper.Run with a fake execve and a node configuration
// in a temporary directory. Only paths that do not mask the test process
// are driven here; masking runs in test/integration.
type harness struct {
	t       *testing.T
	dir     string
	runDir  string
	runtime string
	front   string // FrontDir ("" = no front file)
	execed  []string
	stderr  bytes.Buffer
}

func newHarness(t *testing.T, stateBundle string) *harness {
	h := &harness{t: t, dir: t.TempDir()}
	h.runDir = filepath.Join(h.dir, "run")
	h.runtime = filepath.Join(h.dir, "fake-runc")
	// The fake runtime only answers "state" (for exec without a record).
	script := "#!/bin/sh\nfor a; do last=$a; done\ncase \" $* \" in *' state '*) printf '{\"id\":\"%s\",\"bundle\":\"" + stateBundle + "\"}' \"$last\";; esac\n"
	if err := os.WriteFile(h.runtime, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(h.dir, "node.json")
	if err := os.WriteFile(cfg, []byte(`{"runDir":"`+h.runDir+`","logFile":"","profileDir":"/nonexistent"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HWCAP_CONFIG", cfg)
	t.Setenv(EnvRuntime, h.runtime)
	return h
}

func (h *harness) run(cwd string, args ...string) int {
	h.execed = nil
	h.stderr.Reset()
	w := &Wrapper{
		Args:     append([]string{"hwcap-runtime"}, args...),
		Environ:  []string{"A=1"},
		Getenv:   os.Getenv,
		Getwd:    func() (string, error) { return cwd, nil },
		Stderr:   &h.stderr,
		Now:      time.Now,
		FrontDir: h.front,
		Exec: func(path string, argv, env []string) error {
			h.execed = argv
			return errors.New("fake exec")
		},
	}
	return w.Run()
}

func writeBundle(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunCreateExecDelete(t *testing.T) {
	bundle := writeBundle(t, `{"annotations":{"other":"x"}}`)
	h := newHarness(t, bundle)

	// create: record written, argv passed on, exec failure reported as 126.
	args := []string{"--root", "/r", "create", "--bundle", bundle, "c1"}
	if code := h.run("/", args...); code != ExitNotExec {
		t.Fatalf("exit %d, want %d (stderr %q)", code, ExitNotExec, h.stderr.String())
	}
	if want := append([]string{h.runtime}, args...); !reflect.DeepEqual(h.execed, want) {
		t.Errorf("exec argv %q, want %q", h.execed, want)
	}
	if !strings.HasPrefix(h.stderr.String(), "hwcap-runtime: exec "+h.runtime+": fake exec") {
		t.Errorf("stderr %q", h.stderr.String())
	}
	rec, err := StoreFor(h.runDir, "/r", h.runtime).Get("c1")
	if err != nil || rec == nil || rec.Mask != nil || rec.Bundle != bundle || !rec.Current() {
		t.Fatalf("record %+v, %v", rec, err)
	}

	// exec: uses the record (the fake runtime's state is never asked).
	if h.run("/", "--root", "/r", "exec", "c1", "true"); h.execed == nil {
		t.Fatalf("exec not passed on: %q", h.stderr.String())
	}

	// delete: the record goes before the runtime runs.
	if h.run("/", "--root", "/r", "delete", "-f", "c1"); h.execed == nil {
		t.Fatal("delete not passed on")
	}
	if rec, _ := StoreFor(h.runDir, "/r", h.runtime).Get("c1"); rec != nil {
		t.Errorf("record survived delete")
	}

	// exec without a record: asks the runtime's state, reads the bundle.
	if h.run("/", "--root", "/r", "exec", "c1", "true"); h.execed == nil {
		t.Fatalf("exec via state not passed on: %q", h.stderr.String())
	}
}

func TestRunCreateDefaultBundleIsCwd(t *testing.T) {
	bundle := writeBundle(t, `{}`)
	h := newHarness(t, bundle)
	old, _ := os.Getwd()
	if err := os.Chdir(bundle); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(old) })
	if h.run(bundle, "run", "c2"); h.execed == nil {
		t.Fatalf("not passed on: %q", h.stderr.String())
	}
	rec, err := StoreFor(h.runDir, "", h.runtime).Get("c2")
	if err != nil || rec == nil || rec.Bundle != bundle {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

func TestRunRefuses(t *testing.T) {
	tests := map[string]struct {
		config string
		args   func(bundle string) []string
		want   string
	}{
		"missing config.json": {"", func(b string) []string { return []string{"create", "-b", filepath.Join(b, "nope"), "c1"} }, "container c1: cannot read the bundle's configuration: open "},
		"bad annotation":      {`{"annotations":{"hwcap.dev/allow":"Not A Name"}}`, func(b string) []string { return []string{"create", "-b", b, "c1"} }, "container c1: annotation hwcap.dev/allow: "},
		"mis-cased key":       {`{"annotations":{"HWCAP.dev/deny":"x"}}`, func(b string) []string { return []string{"run", "-b", b, "c1"} }, "annotation HWCAP.dev/deny: unknown key"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bundle := writeBundle(t, tc.config)
			h := newHarness(t, bundle)
			logFile := filepath.Join(h.dir, "log.json")
			args := append([]string{"--log", logFile, "--log-format", "json"}, tc.args(bundle)...)
			if code := h.run("/", args...); code != ExitRefused || h.execed != nil {
				t.Fatalf("exit %d, exec %q; want %d and no exec", code, h.execed, ExitRefused)
			}
			if l := strings.Split(strings.TrimSuffix(h.stderr.String(), "\n"), "\n"); len(l) != 1 || !strings.Contains(l[0], tc.want) {
				t.Errorf("stderr %q, want one line with %q", h.stderr.String(), tc.want)
			}
			data, err := os.ReadFile(logFile)
			if err != nil || !strings.HasPrefix(string(data), `{"level":"error","msg":"hwcap-runtime: `) || strings.Count(string(data), "\n") != 1 {
				t.Errorf("--log file %q, %v", data, err)
			}
		})
	}
}
