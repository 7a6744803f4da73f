//go:build cgo

package front

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hwcap/hwcap/internal/config"
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

func TestFNV(t *testing.T) {
	for _, s := range []string{"", "/etc/hwcap/config.json", "default:runc", "/run/containerd/runc/k8s.io"} {
		want := filepath.Join("/d", fmt.Sprintf("front-%016x", FNV(s)))
		if got := wrapper.FrontPath("/d", s); got != want {
			t.Errorf("FrontPath(%q) = %s, front end %s", s, got, want)
		}
	}
}

// env is a test node: a front directory, a node configuration, a run
// directory, a fake runtime on PATH and a bundle.
type env struct {
	t                             *testing.T
	dir, front, cfg, run, rt, bin string
	bundle                        string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 && os.Getenv("HWCAP_NO_SKIP") == "" {
		t.Log("not root: ownership checks are against this user")
	}
	d := t.TempDir()
	e := &env{t: t, dir: d, front: filepath.Join(d, "front"), cfg: filepath.Join(d, "node.json"), run: filepath.Join(d, "run"),
		bin: filepath.Join(d, "bin"), bundle: filepath.Join(d, "bundle")}
	for _, p := range []string{e.front, e.run, e.bin, e.bundle} {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.rt = filepath.Join(e.bin, "fakerunc")
	e.write(e.rt, "#!/bin/sh\n", 0o755)
	e.write(e.cfg, fmt.Sprintf(`{"runDir": %q, "runtimes": ["fakerunc", "crun"]}`, e.run), 0o644)
	e.bundleConfig(`{"ociVersion": "1.0.2", "annotations": {"io.kubernetes.pod.name": "web"}}`)
	return e
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

// writeFront does what the Go wrapper does after loading the node file.
func (e *env) writeFront() {
	e.t.Helper()
	n, err := config.LoadFile(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(e.cfg, &st); err != nil {
		e.t.Fatal(err)
	}
	if err := wrapper.WriteFront(e.front, e.cfg, true, &st, &st, n); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) decide(args string, extraEnv ...string) (int, string) {
	argv := append([]string{"hwcap-runtime"}, strings.Fields(args)...)
	envv := append([]string{"PATH=/nonexistent:" + e.bin, "HWCAP_CONFIG=" + e.cfg}, extraEnv...)
	return Decide(argv, envv, e.front)
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
	// $HWCAP_RUNTIME: no file needed.
	e.want("state x", KindPass, "HWCAP_RUNTIME="+e.rt)
	e.want("state x", KindPass, "HWCAP_RUNTIME=fakerunc")
	e.want("state x", KindGo, "HWCAP_RUNTIME=relative/runc")
	e.want("state x", KindGo, "HWCAP_RUNTIME=nosuch")
	// The node file's runtimes: only with a current front file.
	e.want("state x", KindGo)
	e.writeFront()
	e.want("--root /r state x", KindPass)
	e.want("state x", KindGo, "HWCAP_FRONT=off")
	// A changed node file: the Go wrapper reads it again.
	e.write(e.cfg, fmt.Sprintf(`{"runDir": %q, "runtimes": ["crun"]}`, e.run), 0o644)
	e.want("state x", KindGo)
	e.writeFront()
	if k, rt := e.decide("state x"); k == KindPass && rt == e.rt {
		t.Fatal("new runtimes list not used")
	}
}

func TestDecideFrontFileTrust(t *testing.T) {
	e := newEnv(t)
	e.writeFront()
	p := wrapper.FrontPath(e.front, e.cfg)
	e.want("state x", KindPass)

	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(){
		"group-writable": func() { e.write(p, string(data), 0o664) },
		"symlink": func() {
			os.Remove(p)
			alt := filepath.Join(e.dir, "alt")
			e.write(alt, string(data), 0o644)
			if err := os.Symlink(alt, p); err != nil {
				t.Fatal(err)
			}
		},
		"truncated":   func() { e.write(p, strings.TrimSuffix(string(data), "end\n"), 0o644) },
		"other file":  func() { e.write(p, strings.Replace(string(data), "config "+e.cfg, "config /etc/other.json", 1), 0o644) },
		"forged stat": func() { e.write(p, strings.Replace(string(data), "stat ", "stat 1", 1), 0o644) },
		"absent": func() {
			e.write(p, string(data[:strings.Index(string(data), "stat ")])+"stat absent\n"+string(data[strings.Index(string(data), "run-dir"):]), 0o644)
		},
		"world-writable dir": func() {
			if err := os.Chmod(e.front, 0o777); err != nil {
				t.Fatal(err)
			}
		},
	} {
		mut()
		if k, _ := e.decide("state x"); k != KindGo {
			t.Fatalf("front file %s: kind %d, want the Go wrapper's", name, k)
		}
		// restore
		os.Remove(p)
		if err := os.Chmod(e.front, 0o755); err != nil {
			t.Fatal(err)
		}
		e.writeFront()
		e.want("state x", KindPass)
	}
}

func TestDecideCreateExec(t *testing.T) {
	e := newEnv(t)
	e.writeFront()
	e.want("create --bundle "+e.bundle+" c1", KindCreate)
	marker := wrapper.PlainPath(e.run, "", e.rt, "c1")
	data, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("no marker where the Go wrapper looks: %v", err)
	}
	if want := filepath.Join(e.bundle, "config.json") + "\n"; string(data) != want {
		t.Fatalf("marker holds %q, want %q", data, want)
	}
	e.want("exec --process /p c1", KindExec)
	e.want("--root /other exec c1", KindGo) // another root: another directory
	e.want("exec c2", KindGo)               // no marker

	// A record of the Go wrapper for the id decides.
	rec := filepath.Join(filepath.Dir(marker), "c1.json")
	e.write(rec, "{}", 0o600)
	e.want("exec c1", KindGo)
	e.want("create --bundle "+e.bundle+" c1", KindGo)
	os.Remove(rec)

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
	cfgPath := filepath.Join(e.bundle, "config.json")
	os.Remove(cfgPath)
	e.want("create --bundle "+e.bundle+" c3", KindGo)
	if err := syscall.Mkfifo(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	e.want("create --bundle "+e.bundle+" c3", KindGo)
	e.want("exec c1", KindGo)

	// A marker others could have written is not trusted.
	os.Remove(cfgPath)
	e.bundleConfig(`{}`)
	e.want("exec c1", KindExec)
	if err := os.Chmod(marker, 0o666); err != nil {
		t.Fatal(err)
	}
	e.want("exec c1", KindGo)
	e.write(marker, "relative/config.json\n", 0o600)
	e.want("exec c1", KindGo)

	// A relative bundle and the current directory.
	wd, _ := os.Getwd()
	t.Cleanup(func() { _ = os.Chdir(wd) })
	if err := os.Chdir(e.dir); err != nil {
		t.Fatal(err)
	}
	e.want("run -d -b bundle c4", KindCreate)
	if err := os.Chdir(e.bundle); err != nil {
		t.Fatal(err)
	}
	e.want("create c5", KindCreate)
	e.want("exec c5", KindExec)

	// GC removes the markers whose config is gone, like records.
	os.Remove(filepath.Join(e.bundle, "config.json"))
	if n := wrapper.GCRecords(e.run, "", e.rt); n < 3 {
		t.Fatalf("GCRecords removed %d markers, want >= 3", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("marker of a gone config still there")
	}
}
