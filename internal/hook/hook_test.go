package hook

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

// arm64 words of qemu -cpu max (runtimes.md), as the fake host.
var hostWords = hwcap.Words{0xfdffffff, 0x7f83ffff}

func vec(w hwcap.Words) auxv.Vector {
	return auxv.Vector{{Type: 6, Val: 4096}, {Type: 16, Val: w[0]}, {Type: 26, Val: w[1]}}
}

type fake struct {
	node     *config.Node
	pidWords map[int]hwcap.Words
	pidErr   error
	inherits bool
	probed   int
	loaded   int
	foreign  bool         // state.pid is not a child of the hook's parent
	self     *hwcap.Words // the hook's own words (nil: hostWords)
	init     *hwcap.Words // PID 1's words (nil: not readable)
}

func (f *fake) hook(stdin string) (*Hook, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &Hook{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		LoadConfig: func() (*config.Node, error) { f.loaded++; return f.node, nil },
		OwnAuxv: func() (auxv.Vector, error) {
			if f.self != nil {
				return vec(*f.self), nil
			}
			return vec(hostWords), nil
		},
		Init: func() (auxv.Vector, error) {
			if f.init == nil {
				return nil, fs.ErrPermission
			}
			return vec(*f.init), nil
		},
		ReadPID: func(pid int) (auxv.Vector, error) {
			if f.pidErr != nil {
				return nil, f.pidErr
			}
			w, ok := f.pidWords[pid]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return vec(w), nil
		},
		Probe: func(string) (*probe.Result, error) {
			f.probed++
			st := probe.NotInherited
			if f.inherits {
				st = probe.Inherited
			}
			return &probe.Result{Kernel: "6.18.44", Paths: map[auxv.Path]probe.PathResult{auxv.PathMap: {Status: st}}}, nil
		},
		Table: func() (*hwcap.Table, error) { return hwcap.Lookup("arm64") },
		Parent: func(pid int) (int, error) {
			if f.foreign {
				return 1, nil
			}
			return os.Getppid(), nil
		},
	}, &out, &errb
}

func newFake(t *testing.T, policy hwcap.Policy) *fake {
	t.Helper()
	n := config.Defaults()
	n.DefaultPolicy = policy
	n.AllowRelax = true
	dir := t.TempDir()
	n.LogFile = filepath.Join(dir, "hwcap.log")
	n.ProfileDir = dir
	n.RunDir = dir
	n.ShimPath = "/usr/local/bin/hwcap-shim"
	return &fake{node: n, pidWords: map[int]hwcap.Words{}}
}

// bundle writes a config.json with args and returns the bundle directory.
// When args[0] names the shim, the config bind-mounts newFake's shimPath
// there read-only, as precreate does (TestGuardShimMustBeTheNodesShim
// covers configs without that mount).
func bundle(t *testing.T, args []string, env ...string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := map[string]any{"ociVersion": "1.0.2", "process": map[string]any{"args": args, "env": env, "cwd": "/"}}
	if len(args) > 0 && isShim(args[0], "/usr/local/bin/hwcap-shim") {
		cfg["mounts"] = []specs.Mount{{Destination: args[0], Type: "bind", Source: "/usr/local/bin/hwcap-shim", Options: []string{"bind", "ro"}}}
	}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// sample loads a captured state and points it at bundle and pid.
func sample(t *testing.T, file, bundle string, pid int, ann map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../spec/testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["bundle"], m["pid"] = bundle, pid
	if ann != nil {
		m["annotations"] = ann
	}
	out, _ := json.Marshal(m)
	return string(out)
}

func logDecisions(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, m["stage"].(string)+"="+m["decision"].(string))
	}
	return out
}

const pid = 4242

var samples = []string{
	"state-runc-1.1.5-createRuntime.json", "state-runc-1.1.5-prestart.json",
	"state-crun-1.8.1-createRuntime.json", "state-crun-1.8.1-prestart.json",
}

func TestGuardWithCapturedStates(t *testing.T) {
	masked := hostWords.AndNot(hwcap.Words{1 << 22, 1 << 1}) // sve, sve2
	shimArgs := []string{ShimMountPath, "--mask", "hwcap=0xffffffffffbfffff,hwcap2=0xfffffffffffffffd", "--policy", "enforce", "--", "app"}
	for name, tc := range map[string]struct {
		policy   hwcap.Policy
		ann      map[string]string // nil: the sample's own (hwcap.dev/deny=sve)
		args     []string
		env      []string
		pidWords *hwcap.Words
		inherits bool
		foreign  bool
		code     int
		decision string
		stderr   string
	}{
		"refused":          {policy: hwcap.Enforce, args: []string{"app"}, code: ExitRefused, decision: "refused", stderr: "mask hwcap=0xffffffffffbfffff (hides sve) requested by annotation hwcap.dev/deny cannot take effect: kernel 6.18.44 does not pass HWCAP masks to children"},
		"warned":           {policy: hwcap.Warn, args: []string{"app"}, code: ExitOK, decision: "warned", stderr: "warning: container"},
		"init masked":      {policy: hwcap.Enforce, args: []string{"app"}, pidWords: &masked, code: ExitOK, decision: "masked"},
		"foreign masked":   {policy: hwcap.Enforce, args: []string{"app"}, pidWords: &masked, foreign: true, code: ExitRefused, decision: "refused", stderr: "carries the mask but is not a child of the runtime running this hook (its parent is pid 1"},
		"foreign warned":   {policy: hwcap.Warn, args: []string{"app"}, pidWords: &masked, foreign: true, code: ExitOK, decision: "warned", stderr: "so it is not this container's init"},
		"shim kernel ok":   {policy: hwcap.Enforce, ann: map[string]string{"hwcap.dev/deny": "sve,sve2"}, args: shimArgs, inherits: true, code: ExitOK, decision: "shim"},
		"shim old kernel":  {policy: hwcap.Enforce, ann: map[string]string{"hwcap.dev/deny": "sve,sve2"}, args: shimArgs, code: ExitRefused, decision: "refused", stderr: "so hwcap-shim cannot mask"},
		"shim too weak":    {policy: hwcap.Enforce, ann: map[string]string{"hwcap.dev/deny": "sve,sve2"}, args: []string{"/usr/local/bin/hwcap-shim", "--deny=sve", "--", "app"}, inherits: true, code: ExitRefused, decision: "refused", stderr: "hwcap-shim with a mask that keeps sve2"},
		"shim env deny":    {policy: hwcap.Enforce, args: []string{"/usr/local/bin/hwcap-shim", "app"}, env: []string{"HWCAP_DENY=sve"}, inherits: true, code: ExitOK, decision: "shim"},
		"shim weak policy": {policy: hwcap.Enforce, args: []string{"/.hwcap-shim", "--deny", "sve", "--policy", "warn", "app"}, inherits: true, code: ExitRefused, decision: "refused", stderr: "policy warn, but the annotations ask for enforce"},
		"shim bad flag":    {policy: hwcap.Enforce, args: []string{"/.hwcap-shim", "--frob", "app"}, inherits: true, code: ExitRefused, decision: "refused", stderr: `hwcap-shim flag "--frob" is not one the shim knows`},
		"kernel ok no shim": {policy: hwcap.Enforce, args: []string{"app"}, inherits: true, code: ExitRefused, decision: "refused",
			stderr: "the container's init (pid 4242) does not carry the mask and the container is not started through hwcap-runtime or hwcap-shim (run it with --runtime hwcap-runtime"},
		"nothing to hide": {policy: hwcap.Enforce, ann: map[string]string{"hwcap.dev/mask": "hwcap3=0"}, args: []string{"app"}, code: ExitOK, decision: "nothing-to-hide"},
		"invalid":         {policy: hwcap.Enforce, ann: map[string]string{"hwcap.dev/deny": "sve3"}, args: []string{"app"}, code: ExitInvalid, decision: "invalid", stderr: `annotation hwcap.dev/deny: unknown feature "sve3" for arm64`},
	} {
		for _, s := range samples {
			t.Run(name+"/"+s, func(t *testing.T) {
				f := newFake(t, tc.policy)
				f.inherits = tc.inherits
				f.foreign = tc.foreign
				if tc.pidWords != nil {
					f.pidWords[pid] = *tc.pidWords
				} else {
					f.pidWords[pid] = hostWords
				}
				h, out, errb := f.hook(sample(t, s, bundle(t, tc.args, tc.env...), pid, tc.ann))
				stage := StageCreateRuntime
				if strings.Contains(s, "prestart") {
					stage = StagePrestart
				}
				if code := h.Run([]string{stage}); code != tc.code {
					t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb)
				}
				if got := logDecisions(t, f.node.LogFile); len(got) != 1 || got[0] != stage+"="+tc.decision {
					t.Fatalf("log = %v, want %s=%s", got, stage, tc.decision)
				}
				if !strings.Contains(errb.String(), tc.stderr) || strings.Count(errb.String(), "\n") > 1 {
					t.Fatalf("stderr %q, want one line with %q", errb, tc.stderr)
				}
				if out.Len() != 0 {
					t.Fatalf("the guard wrote to stdout: %q", out)
				}
			})
		}
	}
}

// TestGuardUnderMaskedRuntime: under hwcap-runtime the hook inherits the
// mask, so its own words are the masked ones. With PID 1's words the guard
// still knows what the mask hides and checks the container's init; without
// them it can only find nothing to hide.
func TestGuardUnderMaskedRuntime(t *testing.T) {
	masked := hostWords.AndNot(hwcap.Words{1 << 22})
	for name, tc := range map[string]struct {
		init     *hwcap.Words
		pidWords hwcap.Words
		code     int
		decision string
	}{
		"init readable, init masked":   {&hostWords, masked, ExitOK, "masked"},
		"init readable, init unmasked": {&hostWords, hostWords, ExitRefused, "refused"},
		"init masked too":              {&masked, masked, ExitOK, "nothing-to-hide"},
		"init unreadable":              {nil, masked, ExitOK, "nothing-to-hide"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, hwcap.Enforce)
			f.self, f.init = &masked, tc.init
			f.inherits = true
			f.pidWords[pid] = tc.pidWords
			h, _, errb := f.hook(sample(t, samples[0], bundle(t, []string{"app"}), pid, nil))
			if code := h.Run([]string{StageCreateRuntime}); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb)
			}
			if got := logDecisions(t, f.node.LogFile); len(got) != 1 || got[0] != StageCreateRuntime+"="+tc.decision {
				t.Fatalf("log = %v, want %s=%s", got, StageCreateRuntime, tc.decision)
			}
		})
	}
}

func TestFastPathTouchesNothing(t *testing.T) {
	for _, s := range samples {
		f := newFake(t, hwcap.Enforce)
		h, out, errb := f.hook(sample(t, s, "/nonexistent", pid, map[string]string{"io.other": "x"}))
		if code := h.Run([]string{StageCreateRuntime}); code != 0 || f.loaded != 0 || f.probed != 0 || out.Len()+errb.Len() != 0 {
			t.Fatalf("%s: code %d loaded %d probed %d out %q err %q", s, code, f.loaded, f.probed, out, errb)
		}
		if _, err := os.Stat(f.node.LogFile); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("log written on the fast path")
		}
	}
}

func TestPoststart(t *testing.T) {
	masked := hostWords.AndNot(hwcap.Words{1 << 22})
	for name, tc := range map[string]struct {
		policy   hwcap.Policy
		words    *hwcap.Words
		err      error
		code     int
		decision string
		args     []string // process.args in the bundle's config.json
	}{
		"confirmed": {hwcap.Enforce, &masked, nil, ExitOK, "confirmed", nil},
		"shim entrypoint not run yet": {hwcap.Enforce, &hostWords, nil, ExitOK, "shim",
			[]string{ShimMountPath, "--deny", "sve,sve2", "--", "app"}},
		"shim too weak": {hwcap.Enforce, &hostWords, nil, ExitRefused, "refused",
			[]string{ShimMountPath, "--deny", "sve2", "--", "app"}},
		"mismatch":        {hwcap.Enforce, &hostWords, nil, ExitRefused, "refused", nil},
		"mismatch warn":   {hwcap.Warn, &hostWords, nil, ExitOK, "warned", nil},
		"exited":          {hwcap.Enforce, nil, nil, ExitOK, "exited", nil},
		"unreadable":      {hwcap.Enforce, nil, fs.ErrPermission, ExitFailed, "failed", nil},
		"unreadable warn": {hwcap.Warn, nil, fs.ErrPermission, ExitOK, "warned", nil},
	} {
		for _, s := range []string{"state-runc-1.1.5-poststart.json", "state-crun-1.8.1-poststart.json"} {
			t.Run(name+"/"+s, func(t *testing.T) {
				f := newFake(t, tc.policy)
				f.pidErr = tc.err
				if tc.words != nil {
					f.pidWords[pid] = *tc.words
				}
				b := "/b"
				if tc.args != nil {
					b = bundle(t, tc.args)
				}
				h, _, errb := f.hook(sample(t, s, b, pid, nil))
				if code := h.Run([]string{StagePoststart}); code != tc.code {
					t.Fatalf("exit %d, want %d: %s", code, tc.code, errb)
				}
				if got := logDecisions(t, f.node.LogFile); len(got) != 1 || got[0] != "poststart="+tc.decision {
					t.Fatalf("log = %v", got)
				}
			})
		}
	}
}

const podmanConfig = `{"ociVersion":"1.0.2-dev","hostname":"6e3e7e9ddad2","process":{"args":["/bin/sh","-c","echo hi"],"cwd":"/","x-unknown":[1]},` +
	`"mounts":[{"destination":"/proc","type":"proc","source":"proc"}],"annotations":%s,"x-top":{"a":"b"}}`

func TestPrecreate(t *testing.T) {
	f := newFake(t, hwcap.Enforce)
	shim := filepath.Join(t.TempDir(), "hwcap-shim")
	if err := os.WriteFile(shim, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.node.ShimPath = shim

	t.Run("unannotated is byte-identical", func(t *testing.T) {
		in := strings.Replace(podmanConfig, "%s", `{"io.other":"1"}`, 1)
		h, out, _ := f.hook(in)
		if code := h.Run([]string{StagePrecreate}); code != 0 || out.String() != in || f.loaded != 0 {
			t.Fatalf("code %d, out %q", code, out)
		}
	})
	t.Run("wrap", func(t *testing.T) {
		in := strings.Replace(podmanConfig, "%s", `{"hwcap.dev/deny":"sve","hwcap.dev/policy":"warn"}`, 1)
		h, out, errb := f.hook(in)
		if code := h.Run([]string{StagePrecreate}); code != 0 {
			t.Fatalf("code %d: %s", code, errb)
		}
		var m map[string]any
		if err := json.Unmarshal(out.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		args, _ := json.Marshal(m["process"].(map[string]any)["args"])
		if string(args) != `["/.hwcap-shim","--mask","hwcap=0xffffffffffbfffff,hwcap2=0xffffffffffffffff,hwcap3=0xffffffffffffffff,hwcap4=0xffffffffffffffff","--policy","warn","--","/bin/sh","-c","echo hi"]` &&
			!strings.HasPrefix(string(args), `["/.hwcap-shim","--mask","hwcap=0xffffffffffbfffff`) {
			t.Fatalf("args %s", args)
		}
		if m["x-top"] == nil || m["process"].(map[string]any)["x-unknown"] == nil || len(m["mounts"].([]any)) != 2 {
			t.Fatalf("lost fields: %s", out)
		}
		if m["annotations"].(map[string]any)["hwcap.dev/effective"] == nil {
			t.Fatal("no effective annotation")
		}
		// Feeding the output back must not wrap twice.
		h2, out2, _ := f.hook(out.String())
		if code := h2.Run([]string{StagePrecreate}); code != 0 {
			t.Fatal(code)
		}
		var m2 map[string]any
		json.Unmarshal(out2.Bytes(), &m2)
		args2, _ := json.Marshal(m2["process"].(map[string]any)["args"])
		if string(args2) != string(args) || len(m2["mounts"].([]any)) != 2 {
			t.Fatalf("wrapped twice: %s", args2)
		}
		if got := logDecisions(t, f.node.LogFile); strings.Join(got, " ") != "precreate=wrapped precreate=already-wrapped" {
			t.Fatalf("log %v", got)
		}
	})
	t.Run("host probe cache shared read-only", func(t *testing.T) {
		g := newFake(t, hwcap.Enforce)
		g.node.ShimPath = shim
		cache := filepath.Join(g.node.RunDir, "probe.json")
		if err := os.WriteFile(cache, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		h, out, errb := g.hook(strings.Replace(podmanConfig, "%s", `{"hwcap.dev/deny":"sve"}`, 1))
		if code := h.Run([]string{StagePrecreate}); code != 0 {
			t.Fatalf("code %d: %s", code, errb)
		}
		var c specs.Spec
		if err := json.Unmarshal(out.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		want := []string{"--policy", "enforce", "--run-dir", ShimRunDir, "--", "/bin/sh"}
		if i := slices.Index(c.Process.Args, "--policy"); i < 0 || !slices.Equal(c.Process.Args[i:i+len(want)], want) {
			t.Fatalf("args %q, want ... %q ...", c.Process.Args, want)
		}
		if len(c.Mounts) != 3 {
			t.Fatalf("mounts %+v", c.Mounts)
		}
		mnt := c.Mounts[2]
		if mnt.Destination != ShimRunDir+"/probe.json" || mnt.Source != cache || !slices.Contains(mnt.Options, "ro") {
			t.Fatalf("probe mount %+v", mnt)
		}
		// The guard accepts what precreate wrote.
		call, err := parseShimCall(c.Process.Args, nil)
		if err != nil || call == nil {
			t.Fatalf("the guard's view of the wrapped args: %v", err)
		}
		// A probe cache that is not a regular file is not shared.
		os.Remove(cache)
		if err := os.Symlink("/etc/passwd", cache); err != nil {
			t.Fatal(err)
		}
		h, out, errb = g.hook(strings.Replace(podmanConfig, "%s", `{"hwcap.dev/deny":"sve"}`, 1))
		if code := h.Run([]string{StagePrecreate}); code != 0 || strings.Contains(out.String(), ShimRunDir) {
			t.Fatalf("code %d, symlinked cache shared: %s %s", code, out, errb)
		}
	})
	t.Run("no shim installed", func(t *testing.T) {
		g := newFake(t, hwcap.Enforce)
		g.node.ShimPath = "/nonexistent/hwcap-shim"
		h, _, errb := g.hook(strings.Replace(podmanConfig, "%s", `{"hwcap.dev/deny":"sve"}`, 1))
		if code := h.Run([]string{StagePrecreate}); code != ExitFailed || !strings.Contains(errb.String(), "hwcap-shim is not installed at /nonexistent/hwcap-shim") {
			t.Fatalf("code %d: %s", code, errb)
		}
	})
	t.Run("bad json", func(t *testing.T) {
		h, _, errb := f.hook(`{"process":`)
		if code := h.Run([]string{StagePrecreate}); code != ExitInvalid || !strings.Contains(errb.String(), "invalid config.json") {
			t.Fatalf("code %d: %s", code, errb)
		}
	})
}

func TestUsage(t *testing.T) {
	f := newFake(t, hwcap.Enforce)
	for args, code := range map[string]int{"": ExitInvalid, "start": ExitInvalid, "--help": 0, "--version": 0, "a b": ExitInvalid} {
		h, _, errb := f.hook("")
		if got := h.Run(strings.Fields(args)); got != code {
			t.Errorf("%q: exit %d, want %d: %s", args, got, code, errb)
		}
	}
	h, _, errb := f.hook("not json")
	if code := h.Run([]string{StageCreateRuntime}); code != ExitInvalid || !strings.Contains(errb.String(), "invalid container state on stdin") {
		t.Fatalf("bad state: %d %s", code, errb)
	}
}

func FuzzShimArgs(f *testing.F) {
	f.Add("--deny\x00sve\x00--\x00app")
	f.Add("--mask=hwcap=0x1\x00--policy\x00warn\x00app")
	f.Add("--profile\x00/p.json\x00--")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseShimCall(strings.Split(s, "\x00"), nil)
		if err == nil && c == nil {
			t.Fatal("nil call without error")
		}
	})
}
