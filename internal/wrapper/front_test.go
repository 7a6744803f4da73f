package wrapper

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestRunWritesFront: a Go call that loaded the node configuration leaves
// the front file of its key with everything the C front end would
// otherwise derive: the runtime Lookup found, every candidate it looked
// at and the configuration with their identities, the records directory.
func TestRunWritesFront(t *testing.T) {
	h := newHarness(t, "/nonexistent")
	h.front = filepath.Join(h.dir, "front")
	t.Setenv(EnvRuntime, "")
	bin1, bin2 := filepath.Join(h.dir, "bin1"), filepath.Join(h.dir, "bin2")
	for _, d := range []string{bin1, bin2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	noexec := filepath.Join(bin2, "runc")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := filepath.Join(h.dir, "bin3", "runc")
	if err := os.MkdirAll(filepath.Dir(rt), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rt, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := os.Getenv("HWCAP_CONFIG")
	if err := os.WriteFile(cfg, []byte(`{"runDir":"`+h.runDir+`","logFile":"","profileDir":"/nonexistent","runtimes":["runc"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	path := bin1 + ":relative:" + bin2 + ":" + filepath.Dir(rt)
	t.Setenv("PATH", path)

	if code := h.run("/", "--root", "/r", "state", "c1"); code != ExitNotExec || h.execed[0] != rt {
		t.Fatalf("exit %d, exec %q: %s", code, h.execed, h.stderr.String())
	}
	k := FrontKey{Config: cfg, Path: path, Root: "/r"}
	f, err := frontStore(h.front).get(k.Name())
	if err != nil || f == nil {
		t.Fatalf("front file %s: %+v, %v", FrontPath(h.front, k), f, err)
	}
	ident := func(p string) string {
		t.Helper()
		id, err := Identity(p)
		if err != nil {
			t.Fatal(err)
		}
		return id + " " + p
	}
	want := &Front{
		Version: FrontVersion,
		Key:     []string{cfg, path, "", "/r"},
		Watch:   []string{ident(cfg), "absent " + filepath.Join(bin1, "runc"), ident(noexec), ident(rt)},
		Runtime: rt,
		Records: StoreFor(h.runDir, "/r", rt).Dir(),
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("front file\n%+v, want\n%+v", f, want)
	}
	if !f.Current() {
		t.Fatal("a fresh front file is stale")
	}
	// The records directory the front end writes into exists, ours alone.
	if st, err := os.Stat(f.Records); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Fatalf("records directory %s: %v, %v", f.Records, st, err)
	}
	// Another root, another key: another file.
	h.run("/", "state", "c1")
	if f2, _ := frontStore(h.front).get(FrontKey{Config: cfg, Path: path}.Name()); f2 == nil || f2.Records != StoreFor(h.runDir, "", rt).Dir() {
		t.Fatalf("front file of the default root: %+v", f2)
	}

	// A runtime installed earlier on PATH, a runtime made executable, an
	// edited configuration: each makes the file stale, as Lookup would now
	// find another runtime or the configuration say something else.
	for _, c := range []struct {
		name   string
		change func() error
	}{
		{"made executable", func() error { return os.Chmod(noexec, 0o755) }}, // bin2/runc is found now
		{"runtime upgraded", func() error { // replaced by a new file
			if err := os.WriteFile(noexec+".new", []byte("#!/bin/sh\n"), 0o755); err != nil {
				return err
			}
			return os.Rename(noexec+".new", noexec)
		}},
		{"installed earlier", func() error { return os.WriteFile(filepath.Join(bin1, "runc"), []byte("#!/bin/sh\n"), 0o755) }},
		{"config edited", func() error {
			return os.WriteFile(cfg, []byte(` {"runDir":"`+h.runDir+`","logFile":"","profileDir":"/nonexistent","runtimes":["runc"]}`), 0o644)
		}},
	} {
		name, change := c.name, c.change
		f, _ := frontStore(h.front).get(k.Name())
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if stillWatched(f.Watch) {
			t.Errorf("%s: front file still current", name)
		}
		// The next Go call writes it again, current.
		h.run("/", "--root", "/r", "state", "c1")
		if f, _ := frontStore(h.front).get(k.Name()); f == nil || !stillWatched(f.Watch) || f.Runtime != h.execed[0] {
			t.Errorf("%s: front file not rewritten: %+v (exec %q)", name, f, h.execed)
		}
	}

	// $HWCAP_RUNTIME with a pass-through command loads nothing and writes
	// nothing; with create it is part of the key.
	t.Setenv(EnvRuntime, rt)
	h.run("/", "state", "c1")
	if f, _ := frontStore(h.front).get(FrontKey{Config: cfg, Path: path, Runtime: rt}.Name()); f != nil {
		t.Errorf("front file written without loading the node configuration: %+v", f)
	}
}

// TestFrontGC: front files that went stale (a test's configuration gone,
// an old runtime) are collected when a front file is written.
func TestFrontGC(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(cfg, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	id, _ := Identity(cfg)
	live := &Front{Version: FrontVersion, Key: []string{cfg, "", "", ""}, Watch: []string{id + " " + cfg}, Runtime: "/bin/true"}
	stale := &Front{Version: FrontVersion, Key: []string{"/gone", "", "", ""}, Watch: []string{"1 2 3 4 5 6 7 /gone/node.json"}, Runtime: "/bin/true"}
	if err := WriteFront(dir, stale); err != nil {
		t.Fatal(err)
	}
	if err := WriteFront(dir, live); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{FrontKey{Config: cfg}.Name() + ".json"}; !reflect.DeepEqual(names, want) {
		t.Errorf("front directory holds %q, want %q", names, want)
	}
}

func TestCutIdentity(t *testing.T) {
	for in, want := range map[string][2]string{
		"absent /a b":          {"absent", "/a b"},
		"1 2 3 4 5 6 7 /p":     {"1 2 3 4 5 6 7", "/p"},
		"1 2 3 4 5 6 7 /p q r": {"1 2 3 4 5 6 7", "/p q r"},
		"1 2 3 /p":             {"", ""},
		"absent ":              {"", ""},
		"":                     {"", ""},
	} {
		id, p, ok := cutIdentity(in)
		if ok != (want[1] != "") || id != want[0] || p != want[1] {
			t.Errorf("cutIdentity(%q) = %q, %q, %v; want %q", in, id, p, ok, want)
		}
	}
}

// TestExitCode: the one mapping of errors to exit codes.
func TestExitCode(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("x: %w", ErrNoRuntime):                            ExitNotFound,
		&execError{path: "/r", err: errors.New("permission denied")}: ExitNotExec,
		fmt.Errorf("x: %w", ErrBadRuntime):                           ExitRefused,
		decided{errors.New("refused")}:                               ExitRefused,
		ErrOwnFlag:                                                   ExitRefused,
	} {
		if got := exitCode(err); got != want {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, want)
		}
	}
	if !strings.HasPrefix((&execError{path: "/r", err: errors.New("e")}).Error(), "exec /r: e") {
		t.Error("execError text")
	}
}
