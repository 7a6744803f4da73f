//go:build cgo

package front

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/wrapper"
)

func TestParse(t *testing.T) {
	tests := []struct {
		argv string
		want Args
	}{
		{"state x", Args{Kind: KindPass}},
		{"--root /r --log /l --log-format json kill x 9", Args{Kind: KindPass, Root: "/r", HasRoot: true}},
		{"--root=/r features", Args{Kind: KindPass, Root: "/r", HasRoot: true}},
		{"--root /a --root /b state x", Args{Kind: KindPass, Root: "/b", HasRoot: true}},
		{"--debug --systemd-cgroup list", Args{Kind: KindPass}},
		// containerd's shim, podman/conmon, CRI-O forms.
		{"--root /run/containerd/runc/k8s.io --log /l/log.json --log-format json create --bundle /b --pid-file /b/init.pid c1", Args{Kind: KindCreate, Root: "/run/containerd/runc/k8s.io", HasRoot: true, Bundle: "/b", ID: "c1"}},
		{"--systemd-cgroup create --bundle /b --pid-file /p --console-socket /s c1", Args{Kind: KindCreate, Bundle: "/b", ID: "c1"}},
		{"create -b rel c1", Args{Kind: KindCreate, Bundle: "rel", ID: "c1"}},
		{"create c1 --bundle=/b", Args{Kind: KindCreate, Bundle: "/b", ID: "c1"}},
		{"run -d --bundle /b --keep c1", Args{Kind: KindCreate, Bundle: "/b", ID: "c1"}},
		{"--root /r exec --process /p.json --detach --pid-file /pid c1", Args{Kind: KindExec, Root: "/r", HasRoot: true, ID: "c1"}},
		{"exec -t -e A=1 --cwd / c1 sh -c --root", Args{Kind: KindExec, ID: "c1"}},
		// The Go wrapper's.
		{"", Args{}},
		{"--hwcap-profile fleet state x", Args{}},
		{"--help", Args{}},
		{"--roo /r state x", Args{}},              // abbreviation
		{"--debug=true state x", Args{}},          // value on a flag
		{"-root /r state x", Args{}},              // urfave single-dash long form
		{"--root", Args{}},                        // value missing
		{"--unknown state x", Args{}},             // unknown global
		{"delete -f c1", Args{}},                  // records
		{"restore --image-path /i c1", Args{}},    // image check
		{"create --config other.json c1", Args{}}, // crun's config name
		{"create -f other.json c1", Args{}},
		{"create -bdir c1", Args{}}, // argp's joined value
		{"create c1 c2", Args{}},
		{"create", Args{}},
		{"create ../x", Args{}}, // not a runc id
		{"create --help c1", Args{}},
		{"create -- c1", Args{}},
		{"run -dt c1", Args{}},
		{"exec", Args{}},
		{"exec -- c1 sh", Args{}},
		{"exec -dt c1", Args{}},
		{"exec --tty=/dev/x c1", Args{}},
		{"exec - c1", Args{}},
		{"help", Args{}},
		{"- state", Args{}},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			argv := append([]string{"hwcap-runtime"}, strings.Fields(tt.argv)...)
			got := Parse(argv)
			if tt.want.Kind == KindGo {
				got = Args{Kind: got.Kind} // the rest means nothing then
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.argv, got, tt.want)
			}
			agree(t, argv)
		})
	}
}

// agree fails when the front end acts on argv where the Go wrapper's
// parser would read it differently.
func agree(t *testing.T, argv []string) {
	t.Helper()
	a := Parse(argv)
	if a.Kind == KindGo {
		return
	}
	if strings.HasPrefix(argv[1], "--hwcap-") {
		t.Fatalf("%q: front end acts (%d) on a --hwcap- option", argv, a.Kind)
	}
	inv := wrapper.Parse(argv[1:])
	bad := func(why string) {
		t.Fatalf("%q: front end %+v, Go wrapper %+v: %s", argv, a, inv, why)
	}
	if inv.Root != a.Root {
		bad("root differs")
	}
	switch a.Kind {
	case KindPass:
		if inv.NeedsMask() || inv.Command == wrapper.CmdDelete || inv.Command == "" {
			bad("passed through a command the Go wrapper acts on")
		}
	case KindCreate:
		if (inv.Command != wrapper.CmdCreate && inv.Command != wrapper.CmdRun) || inv.Help || inv.ConfigName != "" ||
			inv.Bundle != a.Bundle || len(inv.IDs) != 1 || inv.ID() != a.ID {
			bad("create/run read differently")
		}
	case KindExec:
		if inv.Command != wrapper.CmdExec || inv.Help || inv.ID() != a.ID {
			bad("exec read differently")
		}
	default:
		bad("unknown kind")
	}
}

// FuzzAgree: wherever the front end acts, the Go wrapper's parser reads
// the same command, root, bundle and id. Tokens are separated by NUL.
func FuzzAgree(f *testing.F) {
	for _, s := range []string{
		"--root\x00/r\x00state\x00x",
		"create\x00--bundle\x00/b\x00--pid-file\x00/p\x00c1",
		"run\x00-d\x00-b\x00/b\x00c1",
		"--root\x00/r\x00exec\x00--process\x00/p\x00-d\x00c1",
		"--log\x00--root\x00create\x00c",
		"create\x00-b\x00--root\x00c",
		"exec\x00-e\x00-u\x00c1",
		"--root=/r\x00--root\x00run\x00exec",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		agree(t, append([]string{"hwcap-runtime"}, strings.Split(s, "\x00")...))
	})
}

// TestFrontName: the front end finds the front file the Go wrapper wrote
// for the same key.
func TestFrontName(t *testing.T) {
	for _, k := range []wrapper.FrontKey{
		{},
		{Path: "/usr/bin:/bin"},
		{Config: "/etc/hwcap/config.json", Path: "/usr/bin", Runtime: "/usr/sbin/runc", Root: "/run/containerd/runc/k8s.io"},
		{Config: "a", Path: "b"}, {Config: "ab"}, {Path: "ab"}, {Root: "x"}, {Runtime: "x"},
	} {
		if got, want := Name([4]string{k.Config, k.Path, k.Runtime, k.Root}), k.Name()+".json"; got != want {
			t.Errorf("%+v: front end %s, Go wrapper %s", k, got, want)
		}
	}
}

// TestIdentity: the front end formats a file's identity as the Go wrapper
// wrote it into the front file and the record.
func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f, filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f, dir, filepath.Join(dir, "l"), filepath.Join(dir, "missing"), "/proc/self/exe", "/dev/null"} {
		want, err := wrapper.Identity(p)
		got, ok := Identity(p)
		if err != nil || !ok || got != want {
			t.Errorf("%s: front end %q (%v), Go wrapper %q (%v)", p, got, ok, want, err)
		}
	}
	if _, ok := Identity(filepath.Join(f, "under-a-file")); ok {
		t.Error("ENOTDIR is not absent")
	}
}

// env is a test node: a front directory, a node configuration, a run
// directory, a fake runtime on PATH and a bundle.
type env struct {
	t                             testing.TB
	dir, front, cfg, run, rt, bin string
	bundle                        string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("HWCAP_NO_SKIP") == "" {
		t.Log("not root: ownership checks are against this user")
	}
	d := t.TempDir()
	e := &env{t: t, dir: d, front: filepath.Join(d, "front"), cfg: filepath.Join(d, "node.json"), run: filepath.Join(d, "run"),
		bin: filepath.Join(d, "bin"), bundle: filepath.Join(d, "bundle")}
	for _, p := range []string{e.run, e.bin, e.bundle} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.rt = filepath.Join(e.bin, "fakerunc")
	e.write(e.rt, "#!/bin/sh\n", 0o755)
	e.node(`"fakerunc", "crun"`)
	e.bundleConfig(`{"ociVersion": "1.0.2", "annotations": {"io.kubernetes.pod.name": "web"}}`)
	return e
}

// node writes the node configuration with runtimes rts (a JSON list's
// inside) and no node log.
func (e *env) node(rts string) {
	e.write(e.cfg, fmt.Sprintf(`{"runDir": %q, "logFile": "", "runtimes": [%s]}`, e.run, rts), 0o644)
}

func (e *env) write(p, data string, mode os.FileMode) {
	e.t.Helper()
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) bundleConfig(s string) { e.write(filepath.Join(e.bundle, "config.json"), s, 0o644) }

// environ is the environment of a call: the node configuration, a PATH
// whose first directory does not exist, and extra.
func (e *env) environ(extra ...string) []string {
	return append([]string{"PATH=/nonexistent:" + e.bin, "HWCAP_CONFIG=" + e.cfg}, extra...)
}

// goCall runs the Go wrapper itself on args (as the front end hands a
// call over to it), with a fake exec; it writes the front file of the
// call's key.
func (e *env) goCall(args string, extraEnv ...string) {
	e.t.Helper()
	envv := e.environ(extraEnv...)
	getenv := func(k string) string {
		for _, kv := range envv {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	var stderr bytes.Buffer
	w := &wrapper.Wrapper{
		Args: append([]string{"hwcap-runtime"}, strings.Fields(args)...), Environ: envv, Getenv: getenv,
		Getwd: os.Getwd, Stderr: &stderr, Now: time.Now, FrontDir: e.front,
		Exec: func(string, []string, []string) error { return errors.New("fake exec") },
	}
	if code := w.Run(); code != wrapper.ExitNotExec {
		e.t.Fatalf("Go wrapper %s: exit %d: %s", args, code, stderr.String())
	}
}

// frontPath is the front file of a call with --root root.
func (e *env) frontPath(root string, extraEnv ...string) string {
	k := wrapper.FrontKey{Config: e.cfg, Path: "/nonexistent:" + e.bin, Root: root}
	for _, kv := range extraEnv {
		if v, ok := strings.CutPrefix(kv, "HWCAP_RUNTIME="); ok {
			k.Runtime = v
		}
	}
	return wrapper.FrontPath(e.front, k)
}

func (e *env) decide(args string, extraEnv ...string) (int, string) {
	argv := append([]string{"hwcap-runtime"}, strings.Fields(args)...)
	return Decide(argv, e.environ(extraEnv...), e.front)
}

func (e *env) want(args string, wantKind int, extraEnv ...string) {
	e.t.Helper()
	k, rt := e.decide(args, extraEnv...)
	if k != wantKind {
		e.t.Fatalf("%s: kind %d, want %d", args, k, wantKind)
	}
	if k != KindGo && rt != e.rt {
		e.t.Fatalf("%s: runtime %q, want %q", args, rt, e.rt)
	}
}

func TestDecidePass(t *testing.T) {
	e := newEnv(t)
	// $HWCAP_RUNTIME a path: no file needed.
	e.want("state x", KindPass, "HWCAP_RUNTIME="+e.rt)
	// A name or a relative path is for the Go wrapper's Lookup.
	e.want("state x", KindGo, "HWCAP_RUNTIME=fakerunc")
	e.want("state x", KindGo, "HWCAP_RUNTIME=relative/runc")
	e.want("state x", KindGo, "HWCAP_RUNTIME=nosuch")
	// The node file's runtimes: only with a current front file of the
	// call's key, which a Go call writes.
	e.want("state x", KindGo)
	e.goCall("state x")
	e.goCall("--root /r state x")
	e.want("state x", KindPass)
	e.want("--root /r state x", KindPass)
	e.want("--root /q state x", KindGo) // another root: another key
	e.want("state x", KindGo, "HWCAP_FRONT=off")
	// A create that names the runtime by $HWCAP_RUNTIME leaves a front
	// file for that key too.
	e.goCall("create --bundle "+e.bundle+" c0", "HWCAP_RUNTIME=fakerunc")
	e.want("state x", KindPass, "HWCAP_RUNTIME=fakerunc")
	// A changed node file: the Go wrapper reads it again.
	e.node(`"crun"`)
	e.want("state x", KindGo)
	if k, rt := e.decide("state x"); k == KindPass && rt == e.rt {
		t.Fatal("new runtimes list not used")
	}
	// The wrapper itself as the runtime: never exec'd by the front end.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e.want("state x", KindGo, "HWCAP_RUNTIME="+self)
}

func TestDecideFrontFileTrust(t *testing.T) {
	e := newEnv(t)
	e.goCall("state x")
	p := e.frontPath("")
	e.want("state x", KindPass)

	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	edit := func(old, repl string) func() {
		return func() {
			if !strings.Contains(doc, old) {
				t.Fatalf("front file %s has no %q", doc, old)
			}
			e.write(p, strings.Replace(doc, old, repl, 1), 0o600)
		}
	}
	cfgID, err := wrapper.Identity(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rtID, err := wrapper.Identity(e.rt)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		mut  func()
	}{
		{"group-writable", func() { e.write(p, doc, 0o620) }},
		{"symlink", func() {
			os.Remove(p)
			alt := filepath.Join(e.dir, "alt")
			e.write(alt, doc, 0o600)
			if err := os.Symlink(alt, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated", edit("}\n", "")},
		{"other file", edit(`"key":["`+e.cfg, `"key":["/etc/other.json`)},
		{"forged identity", edit(`"watch":["`, `"watch":["1`)},
		{"absent", edit(`"watch":["`+cfgID, `"watch":["absent`)},
		{"config not watched", edit(`"watch":["`+cfgID+" "+e.cfg+`",`, `"watch":[`)},
		{"another config watched", edit(`"watch":["`+cfgID+" "+e.cfg, `"watch":["`+rtID+" "+e.rt)},
		{"other version", edit(`"version":2`, `"version":1`)},
		{"version twice", edit(`"version":2`, `"version":2,"version":2`)},
		{"unknown member", edit(`"version":2`, `"version":2,"x":1`)},
		{"escape", edit(`"runtime":"/`, `"runtime":"\/`)},
		{"relative records", edit(`"records":"/`, `"records":"`)},
		{"short key", edit(`"key":["`+e.cfg+`",`, `"key":[`)},
		{"nested", edit(`"version":2`, `"version":2,"mask":{}`)},
		{"world-writable dir", func() {
			if err := os.Chmod(e.front, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		m.mut()
		if k, _ := e.decide("state x"); k != KindGo {
			t.Fatalf("front file %s: kind %d, want the Go wrapper's", m.name, k)
		}
		// restore
		os.Remove(p)
		if err := os.Chmod(e.front, 0o700); err != nil {
			t.Fatal(err)
		}
		e.goCall("state x")
		e.want("state x", KindPass)
	}
}

// wantRecord checks that the record of id is the one the Go wrapper
// would write for a container without a mask with config file cfg, byte
// for byte, and that the Go wrapper reads it as current.
func (e *env) wantRecord(root, id, cfg string) {
	e.t.Helper()
	s := wrapper.StoreFor(e.run, root, e.rt)
	data, err := os.ReadFile(s.Path(id))
	if err != nil {
		e.t.Fatalf("no record where the Go wrapper looks: %v", err)
	}
	cfgID, err := wrapper.Identity(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	want := fmt.Sprintf(`{"version":%d,"id":"%s","bundle":"%s","config":"%s","configId":"%s"}`+"\n", wrapper.RecordVersion, id, filepath.Dir(cfg), cfg, cfgID)
	if string(data) != want {
		e.t.Fatalf("record holds %q, want %q", data, want)
	}
	rec, err := s.Get(id)
	if err != nil || rec == nil || rec.Mask != nil || !rec.Current() {
		e.t.Fatalf("the Go wrapper reads %+v, %v", rec, err)
	}
}

func TestDecideCreateExec(t *testing.T) {
	e := newEnv(t)
	e.goCall("state x")
	cfgPath := filepath.Join(e.bundle, "config.json")
	e.want("create --bundle "+e.bundle+" c1", KindCreate)
	e.wantRecord("", "c1", cfgPath)
	store := wrapper.StoreFor(e.run, "", e.rt)
	e.want("exec --process /p c1", KindExec)
	e.want("--root /other exec c1", KindGo) // another root: another key
	e.want("exec c2", KindGo)               // no record

	// A record with a mask (the Go wrapper's) decides.
	plain, err := store.Get("c1")
	if err != nil {
		t.Fatal(err)
	}
	masked := *plain
	masked.Mask = &wrapper.Mask{Policy: "warn"}
	if err := store.Put(&masked); err != nil {
		t.Fatal(err)
	}
	e.want("exec c1", KindGo)
	e.want("create --bundle "+e.bundle+" c1", KindGo)
	if err := store.Put(plain); err != nil {
		t.Fatal(err)
	}
	e.want("exec c1", KindExec)
	e.want("create --bundle "+e.bundle+" c1", KindCreate) // replaces a record without a mask
	e.wantRecord("", "c1", cfgPath)

	// The bundle now asks for a mask: the exec goes to the Go wrapper.
	for _, cfg := range []string{
		`{"annotations": {"hwcap.dev/profile": "fleet"}}`,
		`{"annotations": {"HWCAP.DEV/Deny": "sve"}}`,
		`{"annotations": {"hwcap.dev\/deny": "sve"}}`,
		`{"annotations": {"\u0068wcap.dev/deny": "sve"}}`,
	} {
		e.bundleConfig(cfg)
		e.want("exec c1", KindGo)
		e.want("create --bundle "+e.bundle+" c3", KindGo)
	}
	// Broken JSON without the key: nothing can ask for a mask; the
	// runtime reports the JSON itself.
	e.bundleConfig(`{"annotations":`)
	e.want("create --bundle "+e.bundle+" c3", KindCreate)
	// Not a regular file, or missing: the Go wrapper reports it.
	os.Remove(cfgPath)
	e.want("create --bundle "+e.bundle+" c4", KindGo)
	if err := syscall.Mkfifo(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	e.want("create --bundle "+e.bundle+" c4", KindGo)
	e.want("exec c1", KindGo)

	// A clean config again, but not the file c1's record was made from:
	// the record is not current (Record.Current), the Go wrapper decides.
	os.Remove(cfgPath)
	e.bundleConfig(`{}`)
	e.want("exec c1", KindGo)
	if err := store.Delete("c1"); err != nil {
		t.Fatal(err)
	}
	e.want("create --bundle "+e.bundle+" c1", KindCreate)
	e.want("exec c1", KindExec)
	// A record others could have written is not trusted, nor one that is
	// not exactly a record of this id without a mask.
	rec := store.Path("c1")
	good, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rec, 0o666); err != nil {
		t.Fatal(err)
	}
	e.want("exec c1", KindGo)
	for _, bad := range []struct{ old, repl string }{
		{`"config":"/`, `"config":"`},
		{`"id":"c1"`, `"id":"c2"`},
		{`"version":2`, `"version":1`},
		{`"version":2`, `"version":2,"version":2`},
		{`"}`, `","mask":{"keep":[1,0,0,0],"policy":"warn"}}`},
		{`"}`, `","mask":null}`},
		{`"}`, `","x":"y"}`},
		{`"bundle":"`, `"bundle":"\/`},
	} {
		e.write(rec, strings.Replace(string(good), bad.old, bad.repl, 1), 0o600)
		e.want("exec c1", KindGo)
	}
	e.write(rec, string(good), 0o600)
	e.want("exec c1", KindExec)

	// A relative bundle and the current directory.
	wd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(wd) })
	if err := os.Chdir(e.dir); err != nil {
		t.Fatal(err)
	}
	e.want("run -d -b bundle c5", KindCreate)
	if err := os.Chdir(e.bundle); err != nil {
		t.Fatal(err)
	}
	e.want("create c6", KindCreate)
	e.want("exec c6", KindExec)
	e.wantRecord("", "c6", cfgPath)

	// One clean-up for every record: those whose config is gone go.
	os.Remove(cfgPath)
	if n := store.GC(0); n < 3 {
		t.Fatalf("GC removed %d records, want >= 3", n)
	}
	if _, err := os.Stat(rec); err == nil {
		t.Fatal("record of a gone config still there")
	}
}
