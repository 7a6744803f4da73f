package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

// Options configure a benchmark run.
type Options struct {
	BinDir  string // the built hwcap binaries (make build)
	Runtime string // runc binary (name on PATH or path)
	WorkDir string // scratch directory ("" = a new one under $TMPDIR)
	Keep    bool   // keep WorkDir afterwards
	Log     io.Writer
}

// Env is everything the cases share: binaries, a rootfs with a tiny static
// payload, bundles, a node configuration.
type Env struct {
	Opts    Options
	Dir     string
	Runc    string
	Bins    map[string]string // hwcap-runtime, hwcap-hook, hwcap-shim, ...
	True    string            // host path of the static payload
	GoFloor string            // a minimal static Go program that execs its arguments
	// CFloor is a tiny static C program that execs its arguments: one
	// extra exec at its cheapest; "" without gcc -static.
	CFloor string
	// RSSLauncher is a tiny static C program that forks, execs its
	// arguments and prints the child's ru_maxrss; "" without gcc -static.
	RSSLauncher string
	Payload     string // what the payload is, for the report
	Rootfs      string
	Root        string // runc --root
	Node        string // node config.json
	RunDir      string
	LogFile     string
	Feature     string      // the host feature the masked cases hide
	Keep        hwcap.Words // its AND mask
	Bundles     map[string]string
	seq         int
	atExit      []func()
}

// Bundle names.
const (
	BundlePlain   = "plain"
	BundleMask    = "mask"     // hwcap.dev/deny=<feature>, policy warn
	BundleHook    = "hook"     // hooks configured, no annotation
	BundleHookAnn = "hook-ann" // hooks configured, annotation
	BundleShim    = "shim"     // process.args through hwcap-shim, as podman's precreate writes it
)

// Setup builds the environment. Close removes it.
func Setup(o Options) (*Env, error) {
	e := &Env{Opts: o, Bins: map[string]string{}, Bundles: map[string]string{}}
	var err error
	if e.Runc, err = exec.LookPath(o.Runtime); err != nil {
		return nil, fmt.Errorf("runtime %q: %w (install runc: make deps)", o.Runtime, err)
	}
	if e.Runc, err = filepath.Abs(e.Runc); err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(o.BinDir)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"hwcap-runtime", "hwcap-hook", "hwcap-shim"} {
		p := filepath.Join(bin, name)
		if err := testutil.RequireStatic(p); err != nil {
			return nil, fmt.Errorf("%w (run make build first)", err)
		}
		e.Bins[name] = p
	}
	e.Dir = o.WorkDir
	if e.Dir == "" {
		if e.Dir, err = os.MkdirTemp("", "hwcapbench-"); err != nil {
			return nil, err
		}
	}
	e.Rootfs = filepath.Join(e.Dir, "rootfs")
	e.Root = filepath.Join(e.Dir, "runc-root")
	e.RunDir = filepath.Join(e.Dir, "run")
	e.LogFile = filepath.Join(e.Dir, "log", "hwcap.log")
	e.Node = filepath.Join(e.Dir, "config.json")
	for _, d := range []string{"proc", "dev", "sys", "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(e.Rootfs, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := e.payload(); err != nil {
		return nil, err
	}
	e.rssLauncher()
	if err := e.goFloor(); err != nil {
		return nil, err
	}
	if err := e.pickFeature(); err != nil {
		return nil, err
	}
	if err := e.writeNode(); err != nil {
		return nil, err
	}
	if err := e.writeBundles(); err != nil {
		return nil, err
	}
	return e, nil
}

// AtExit registers f for Close (last registered, first run).
func (e *Env) AtExit(f func()) { e.atExit = append(e.atExit, f) }

// Close runs the AtExit functions and removes the scratch directory unless
// asked to keep it. It may run twice (a signal, then the deferred call).
func (e *Env) Close() {
	for i := len(e.atExit) - 1; i >= 0; i-- {
		e.atExit[i]()
	}
	e.atExit = nil
	if e.Opts.Keep || e.Dir == "" {
		return
	}
	os.RemoveAll(e.Dir)
}

func (e *Env) logf(format string, args ...any) {
	if e.Opts.Log != nil {
		fmt.Fprintf(e.Opts.Log, format+"\n", args...)
	}
}

// payload puts a static "true" at /true in the rootfs: a C one built with
// gcc -static when a static libc is installed (the smallest program a
// container can run), else busybox-static's applet.
func (e *Env) payload() error {
	dst := filepath.Join(e.Rootfs, "true")
	src := filepath.Join(e.Dir, "true.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		return err
	}
	gcc := exec.Command("gcc", "-static", "-Os", "-s", "-o", dst, src)
	gccOut, gccErr := gcc.CombinedOutput()
	if gccErr == nil {
		e.Payload = "static C `int main(){return 0;}` (gcc -static -Os)"
	} else {
		bb, err := exec.LookPath("busybox")
		if err != nil || testutil.RequireStatic(bb) != nil {
			return fmt.Errorf("no static payload: gcc -static failed (%w: %s) and no static busybox (install libc6-dev or busybox-static)", gccErr, oneLine(string(gccOut)))
		}
		if err := copyFile(bb, filepath.Join(e.Rootfs, "busybox"), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("busybox", dst); err != nil {
			return err
		}
		e.Payload = "busybox-static `true`"
	}
	if err := testutil.RequireStatic(dst); err != nil {
		return err
	}
	e.True = dst
	// The mount point of the shim's bind mount (the rootfs is read-only).
	return os.WriteFile(filepath.Join(e.Rootfs, ".hwcap-shim"), nil, 0o755)
}

// rssLauncherSrc exists because ru_maxrss survives execve: a child that
// Go's os/exec starts (vfork, sharing the harness's mm until exec) reports
// the harness's own peak. Forked from this tiny program instead, the
// child's ru_maxrss is its own (at least this program's few hundred KiB).
const rssLauncherSrc = `#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
	if (argc < 2) return 125;
	pid_t p = fork();
	if (p < 0) return 125;
	if (p == 0) { execv(argv[1], argv + 1); _exit(127); }
	int st; struct rusage ru;
	if (wait4(p, &st, 0, &ru) < 0) return 125;
	fprintf(stderr, "\n` + rssMarker + `%ld\n", ru.ru_maxrss);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
`

const rssMarker = "hwcapbench-maxrss-kib="

const cFloorSrc = `#include <unistd.h>
int main(int argc, char **argv) {
	if (argc < 2) return 125;
	execv(argv[1], argv + 1);
	return 126;
}
`

func (e *Env) rssLauncher() {
	e.RSSLauncher = e.cc("rss", rssLauncherSrc, "no peak RSS")
	e.CFloor = e.cc("cfloor", cFloorSrc, "no C exec floor")
}

// cc builds a static C program, or returns "" and says what is missing.
func (e *Env) cc(name, src, missing string) string {
	c := filepath.Join(e.Dir, name+".c")
	out := filepath.Join(e.Dir, name)
	if os.WriteFile(c, []byte(src), 0o644) != nil {
		return ""
	}
	if b, err := exec.Command("gcc", "-static", "-Os", "-o", out, c).CombinedOutput(); err != nil {
		e.logf("hwcapbench: %s (gcc -static failed: %v: %s)", missing, err, oneLine(string(b)))
		return ""
	}
	return out
}

// goFloorSrc is the least a Go program can do before exec: what any Go
// hook, shim or wrapper pays at the very least (runtime start, then exec).
const goFloorSrc = `package main

import (
	"os"
	"syscall"
)

func main() {
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	os.Stderr.WriteString("gofloor: " + err.Error() + "\n")
	os.Exit(126)
}
`

// goFloor builds goFloorSrc like make build builds hwcap's binaries.
func (e *Env) goFloor() error {
	dir := filepath.Join(e.Dir, "gofloor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(goFloorSrc), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module gofloor\n\ngo 1.22\n"), 0o644); err != nil {
		return err
	}
	goBin := "go"
	if p := os.Getenv("GO"); p != "" {
		goBin = p
	}
	out := filepath.Join(e.Dir, "gofloor-bin")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the minimal Go program: %w: %s", err, oneLine(string(b)))
	}
	e.GoFloor = out
	return nil
}

// pickFeature chooses a feature this host has, so that the mask really
// hides something and every masked path does its full work.
func (e *Env) pickFeature() error {
	t, err := hwcap.Host()
	if err != nil {
		return err
	}
	v, err := auxv.ReadSelf()
	if err != nil {
		return err
	}
	names := t.Names(v.HWCAPs())
	if len(names) == 0 {
		return errors.New("this host's AT_HWCAP words name no known feature: nothing to mask")
	}
	e.Feature = names[len(names)-1]
	e.Keep, err = hwcap.Spec{Deny: []string{e.Feature}}.Keep(t)
	return err
}

func (e *Env) writeNode() error {
	cfg := map[string]any{
		"defaultPolicy":        "warn",
		"allowAnnotationRelax": true,
		"profileDir":           filepath.Join(e.Dir, "profiles"),
		"logFile":              e.LogFile,
		"runDir":               e.RunDir,
		"runtimes":             []string{e.Runc},
		"shimPath":             e.Bins["hwcap-shim"],
	}
	if err := os.MkdirAll(filepath.Join(e.Dir, "profiles"), 0o755); err != nil {
		return err
	}
	return writeJSON(e.Node, cfg)
}

// NodeEnv is the environment of a process that reads the node config.
func (e *Env) NodeEnv(extra ...string) []string {
	return envWith(append([]string{"HWCAP_CONFIG=" + e.Node}, extra...)...)
}

// maskAnnotations is what a user sets to hide the feature under warn.
func (e *Env) maskAnnotations() map[string]string {
	return map[string]string{"hwcap.dev/deny": e.Feature, "hwcap.dev/policy": "warn"}
}

func (e *Env) writeBundles() error {
	hooks := &specs.Hooks{
		CreateRuntime: []specs.Hook{{Path: e.Bins["hwcap-hook"], Args: []string{"hwcap-hook", "createRuntime"}, Env: []string{"HWCAP_CONFIG=" + e.Node}, Timeout: intp(10)}},
		Poststart:     []specs.Hook{{Path: e.Bins["hwcap-hook"], Args: []string{"hwcap-hook", "poststart"}, Env: []string{"HWCAP_CONFIG=" + e.Node}, Timeout: intp(10)}},
	}
	for name, mod := range map[string]func(*specs.Spec){
		BundlePlain: func(*specs.Spec) {},
		BundleMask:  func(s *specs.Spec) { s.Annotations = e.maskAnnotations() },
		BundleHook:  func(s *specs.Spec) { s.Hooks = hooks },
		BundleHookAnn: func(s *specs.Spec) {
			s.Hooks = hooks
			s.Annotations = e.maskAnnotations()
		},
		// Annotated; precreate (below) rewrites it as podman would.
		BundleShim: func(s *specs.Spec) { s.Annotations = e.maskAnnotations() },
	} {
		s := testutil.DefaultSpec("/true")
		s.Root = &specs.Root{Path: e.Rootfs, Readonly: true}
		// Container engines mount a fresh tmpfs on /run (podman, Docker):
		// a shim in the container finds no probe cache there.
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs",
			Options: []string{"nosuid", "nodev", "mode=755", "size=1m"}})
		mod(s)
		dir := filepath.Join(e.Dir, "bundle-"+name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, "config.json"), s); err != nil {
			return err
		}
		if name == BundleShim {
			if err := e.precreate(filepath.Join(dir, "config.json")); err != nil {
				return err
			}
		}
		e.Bundles[name] = dir
	}
	return nil
}

// precreate rewrites config.json through the real `hwcap-hook precreate`,
// so the shim case is exactly what podman runs: the entrypoint wrapped by
// hwcap-shim, its bind mount and the host's probe cache.
func (e *Env) precreate(config string) error {
	in, err := os.Open(config)
	if err != nil {
		return err
	}
	defer in.Close()
	cmd := exec.Command(e.Bins["hwcap-hook"], "precreate")
	cmd.Env = e.NodeEnv()
	cmd.Stdin = in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("hwcap-hook precreate: %w: %s", err, oneLine(stderr.String()))
	}
	if !bytes.Contains(out, []byte(`"/.hwcap-shim"`)) {
		return fmt.Errorf("hwcap-hook precreate did not wrap the entrypoint: %s", out)
	}
	return os.WriteFile(config, out, 0o644)
}

// ID returns a fresh container id.
func (e *Env) ID(tag string) string {
	e.seq++
	return fmt.Sprintf("hb-%d-%s-%d", os.Getpid(), strings.ReplaceAll(tag, " ", "-"), e.seq)
}

func intp(i int) *int { return &i }

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}
