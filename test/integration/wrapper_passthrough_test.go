package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
	"github.com/hwcap/hwcap/internal/wrapper"
)

// fakeRuntime is a runtime that dumps its argv (NUL-separated) and its
// environment exactly as the kernel gave them (/proc/$$/environ), prints
// a line on stdout and on stderr, and exits with $FAKE_EXIT.
const fakeRuntime = `#!/bin/sh
printf '%s\0' "$0" "$@" > "$FAKE_OUT.argv"
cat /proc/$$/environ > "$FAKE_OUT.env"
printf 'fake stdout %d\n' "$#"
printf 'fake stderr\n' >&2
exit "${FAKE_EXIT:-0}"
`

func writeFake(t *testing.T, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(fakeRuntime), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

type runResult struct {
	stdout, stderr string
	code           int
}

func runWrapper(t *testing.T, bin, dir string, env []string, timeout time.Duration, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q: timed out after %v (stderr %q)", bin, args, timeout, errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return runResult{out.String(), errb.String(), code}
}

func splitNUL(b []byte) []string {
	s := strings.Split(string(b), "\x00")
	return s[:len(s)-1] // trailing NUL
}

// TestWrapperPassesThroughExactly drives the wrapper with a fake runtime and
// checks that argv[1:], the environment, stdout, stderr and the exit code
// reach the real runtime (and come back) byte for byte, for pass-through
// commands and for create/run/exec of an unannotated bundle.
func TestWrapperPassesThroughExactly(t *testing.T) {
	bin := wrapperBinary(t)
	node := newWrapperNode(t, "enforce", nil)
	dir := t.TempDir()
	fake := writeFake(t, filepath.Join(dir, "bin"), "fake-runtime")
	bundle := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion":"1.0.2","annotations":{"io.other/x":"1"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dump")
	tests := map[string]struct {
		args []string
		exit int
	}{
		"state":             {[]string{"state", "c1"}, 0},
		"list json":         {[]string{"--root", "/run/x", "list", "--format", "json"}, 0},
		"kill exit 1":       {[]string{"kill", "c1", "KILL"}, 1},
		"ps with --":        {[]string{"--log=/dev/null", "--log-format=json", "ps", "c1", "--", "-ef"}, 0},
		"features":          {[]string{"features"}, 0},
		"start spaces":      {[]string{"start", "c 1"}, 0},
		"events urfave":     {[]string{"-root", "/x", "-debug", "events", "--stats", "c1"}, 42},
		"odd bytes":         {[]string{"frob", "", "a\nb", "\xff\xfe", "-", "--", "--root"}, 255},
		"help":              {[]string{"--help"}, 0},
		"delete":            {[]string{"--root", "/r", "delete", "--force", "c1"}, 3},
		"create unmasked":   {[]string{"--root", "/r", "--log", filepath.Join(dir, "log.json"), "--log-format", "json", "create", "--bundle", bundle, "--pid-file", "/p", "c1"}, 0},
		"run -b= unmasked":  {[]string{"run", "-b=" + bundle, "--detach", "c2"}, 7},
		"exec unmasked":     {[]string{"--root", "/r", "exec", "--tty", "-e", "A=1", "c1", "sh", "-c", "echo $A >&2"}, 0},
		"restore unmasked":  {[]string{"restore", "--image-path", "/img", "-b", bundle, "c3"}, 0},
		"no args at all":    {nil, 2},
		"crun --config abs": {[]string{"create", "-f", filepath.Join(bundle, "config.json"), "c4"}, 0},
	}
	// "exec unmasked" reads the record "create unmasked" writes, and
	// "delete" removes it: a fixed order (sorted, delete last), not map order.
	names := make([]string, 0, len(tests))
	for name := range tests {
		if name != "delete" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	names = append(names, "delete")
	for _, name := range names {
		tc := tests[name]
		t.Run(name, func(t *testing.T) {
			os.Remove(out + ".argv")
			os.Remove(out + ".env")
			env := append(node.env(fake), "FAKE_OUT="+out, fmt.Sprintf("FAKE_EXIT=%d", tc.exit),
				"ODD=with space", "EMPTY=", "NL=a\nb", "BYTES=\xff")
			res := runWrapper(t, bin, bundle, env, 30*time.Second, tc.args...)
			if res.code != tc.exit {
				t.Errorf("exit code %d, want %d (stderr %q)", res.code, tc.exit, res.stderr)
			}
			if want := fmt.Sprintf("fake stdout %d\n", len(tc.args)); res.stdout != want {
				t.Errorf("stdout %q, want exactly %q", res.stdout, want)
			}
			if res.stderr != "fake stderr\n" {
				t.Errorf("stderr %q, want exactly %q", res.stderr, "fake stderr\n")
			}
			argvB, err := os.ReadFile(out + ".argv")
			if err != nil {
				t.Fatal(err)
			}
			argv := splitNUL(argvB)
			if argv[0] != fake {
				t.Errorf("argv[0] = %q, want the real runtime's path %q", argv[0], fake)
			}
			if got := argv[1:]; !reflect.DeepEqual(got, append([]string{}, tc.args...)) {
				t.Errorf("argv[1:] = %q, want %q", got, tc.args)
			}
			envB, err := os.ReadFile(out + ".env")
			if err != nil {
				t.Fatal(err)
			}
			gotEnv := splitNUL(envB)
			sort.Strings(gotEnv)
			wantEnv := append([]string(nil), env...)
			sort.Strings(wantEnv)
			if !reflect.DeepEqual(gotEnv, wantEnv) {
				t.Errorf("environment differs:\n got %q\nwant %q", gotEnv, wantEnv)
			}
		})
	}
}

// TestWrapperSkipsItselfOnPath installs the wrapper as "runc" first on
// PATH: it must exec the next runc, not itself.
func TestWrapperSkipsItselfOnPath(t *testing.T) {
	bin := wrapperBinary(t)
	node := newWrapperNode(t, "enforce", map[string]any{"runtimes": []string{"runc"}})
	dir := t.TempDir()
	self := filepath.Join(dir, "a")
	if err := os.MkdirAll(self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(self, "runc")); err != nil {
		t.Fatal(err)
	}
	fake := writeFake(t, filepath.Join(dir, "b"), "runc")
	out := filepath.Join(dir, "dump")
	var env []string
	for _, kv := range node.env("") {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+self+":"+filepath.Dir(fake), "FAKE_OUT="+out, "FAKE_EXIT=5")
	res := runWrapper(t, filepath.Join(self, "runc"), dir, env, 30*time.Second, "state", "c1")
	if res.code != 5 || res.stdout != "fake stdout 2\n" {
		t.Fatalf("got exit %d stdout %q stderr %q; want the fake runc's exit 5", res.code, res.stdout, res.stderr)
	}
	argv, _ := os.ReadFile(out + ".argv")
	if got := splitNUL(argv); got[0] != fake {
		t.Errorf("exec'd %q, want %q", got[0], fake)
	}
}

// TestWrapperRuntimeErrors: one line on stderr, nothing on stdout, and the
// documented exit codes.
func TestWrapperRuntimeErrors(t *testing.T) {
	bin := wrapperBinary(t)
	node := newWrapperNode(t, "enforce", nil)
	badCfg := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badCfg, []byte(`{"runtimes": "runc"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		env  []string
		code int
		msg  string
	}{
		"not on PATH":     {append(node.env("no-such-runtime"), "PATH=/nonexistent"), 127, `no real OCI runtime found: tried no-such-runtime on PATH="/nonexistent"`},
		"relative path":   {node.env("bin/runc"), 1, `"bin/runc" is a relative path`},
		"bad node config": {append(node.env(""), "HWCAP_CONFIG="+badCfg), 1, "field runtimes: got a JSON string, want a list"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := runWrapper(t, bin, "/", tc.env, 30*time.Second, "state", "c1")
			if res.code != tc.code {
				t.Errorf("exit %d, want %d", res.code, tc.code)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing", res.stdout)
			}
			if l := lines(res.stderr); len(l) != 1 || !strings.HasPrefix(l[0], "hwcap-runtime: ") || !strings.Contains(l[0], tc.msg) {
				t.Errorf("stderr %q, want one line containing %q", res.stderr, tc.msg)
			}
		})
	}
}

// TestWrapperPassThroughOpensNoFile traces the wrapper: before it execs
// the real runtime, a pass-through command opens no file but the ones the
// Go runtime itself opens at start-up; without $HWCAP_RUNTIME, only the
// node configuration in addition (which names the runtime).
func TestWrapperPassThroughOpensNoFile(t *testing.T) {
	strace := testutil.RequireCommand(t, "strace")
	bin := wrapperBinary(t)
	node := newWrapperNode(t, "enforce", nil)
	dir := t.TempDir()
	fake := writeFake(t, filepath.Join(dir, "bin"), "runc")
	// Go's runtime reads these while starting (huge page size, the
	// cgroup CPU limit for GOMAXPROCS); the wrapper's code runs after.
	goRuntime := func(p string) bool {
		return p == "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size" ||
			p == "/proc/self/maps" || // cgo: the main thread's stack (pthread_getattr_np)
			p == "/proc/self/cgroup" || p == "/proc/self/mountinfo" ||
			strings.HasPrefix(p, "/sys/fs/cgroup/")
	}
	for _, args := range [][]string{
		{"--root", "/r", "state", "c1"},
		{"list"},
		{"--log", filepath.Join(dir, "log.json"), "--log-format", "json", "kill", "c1", "TERM"},
		{"start", "c1"},
		{"ps", "c1"},
		{"features"},
		{"create", "--help"},
	} {
		for _, withEnv := range []bool{true, false} {
			// The C front end (internal/front), and the Go wrapper
			// alone (HWCAP_FRONT=off, or --help, which only Go reads).
			for _, front := range []bool{true, false} {
				name := strings.Join(args, " ")
				if withEnv {
					name += " HWCAP_RUNTIME"
				}
				help := slices.Contains(args, "--help")
				if front && help {
					continue
				}
				if !front {
					name += " HWCAP_FRONT=off"
				}
				t.Run(name, func(t *testing.T) {
					trace := filepath.Join(t.TempDir(), "trace")
					path := filepath.Dir(fake) + ":/usr/bin:/bin"
					env := append(node.env(""), "FAKE_OUT="+filepath.Join(dir, "dump"), "PATH="+path)
					if withEnv {
						env = append(env, "HWCAP_RUNTIME="+fake)
					}
					if !front {
						env = append(env, "HWCAP_FRONT=off")
					} else if res := runWrapper(t, bin, dir, env, 60*time.Second, args...); res.code != 0 {
						// The first call may be Go's: it writes the front file.
						t.Fatalf("exit %d: %s", res.code, res.stderr)
					}
					sargs := append([]string{"-f", "-qq", "-o", trace, "-e", "trace=openat,open,creat,execve,rt_sigaction", bin}, args...)
					res := runWrapper(t, strace, dir, env, 60*time.Second, sargs...)
					if res.code != 0 {
						t.Fatalf("exit %d: %s", res.code, res.stderr)
					}
					opened, execed := tracedOpens(t, trace, fake)
					if !execed {
						t.Fatalf("trace shows no execve of %s", fake)
					}
					if got := goStarted(t, trace, fake); got != !front {
						t.Errorf("Go runtime started before the runtime's exec: %v, want %v", got, !front)
					}
					var ours []string
					for _, p := range opened {
						if !goRuntime(p) {
							ours = append(ours, p)
						}
					}
					// The front file of the call's key (exec.Cmd passes the
					// last PATH of env).
					key := wrapper.FrontKey{Config: node.Config, Path: path}
					if args[0] == "--root" {
						key.Root = args[1]
					}
					want := []string(nil)
					switch {
					case !withEnv && front:
						want = []string{wrapper.FrontPath(wrapper.FrontDir, key)}
					case !withEnv: // and the front file, to see if it is current
						want = []string{node.Config, wrapper.FrontPath(wrapper.FrontDir, key)}
					}
					if !reflect.DeepEqual(ours, want) {
						t.Errorf("opened %q before exec'ing the runtime, want %q (all opens: %q)", ours, want, opened)
					}
				})
			}
		}
	}
}

// beforeExec returns the traced lines before the execve of runtime, and
// whether that execve is in the trace.
func beforeExec(t *testing.T, trace, runtime string) (lines []string, execed bool) {
	t.Helper()
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Split(string(data), "\n")
	for i, l := range all {
		if strings.Contains(l, "execve(\""+runtime+"\"") {
			return all[:i], true
		}
	}
	return all, false
}

// goStarted reports whether the traced process installed signal handlers
// (the Go runtime does, ~60 of them, at start) before the execve of
// runtime: the C front end execs before Go starts.
func goStarted(t *testing.T, trace, runtime string) bool {
	t.Helper()
	lines, _ := beforeExec(t, trace, runtime)
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "rt_sigaction(") })
}

// tracedOpens returns the paths opened before the execve of runtime.
func tracedOpens(t *testing.T, trace, runtime string) (opened []string, execed bool) {
	t.Helper()
	lines, execed := beforeExec(t, trace, runtime)
	for _, l := range lines {
		for _, call := range []string{"openat(", "open(", "creat("} {
			i := strings.Index(l, call)
			if i < 0 {
				continue
			}
			rest := l[i+len(call):]
			q := strings.Index(rest, "\"")
			if q < 0 {
				continue
			}
			rest = rest[q+1:]
			if e := strings.Index(rest, "\""); e >= 0 {
				opened = append(opened, rest[:e])
			}
		}
	}
	return opened, execed
}

// TestWrapperPassThroughIgnoresBundle runs pass-through commands in a
// directory whose config.json is a FIFO, with $HWCAP_CONFIG a FIFO too:
// any open of either would block. The create at the end shows that it
// does block when the wrapper reads them.
func TestWrapperPassThroughIgnoresBundle(t *testing.T) {
	bin := wrapperBinary(t)
	dir := t.TempDir()
	fake := writeFake(t, filepath.Join(dir, "bin"), "runc")
	for _, p := range []string{filepath.Join(dir, "config.json"), filepath.Join(dir, "node.json")} {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "HWCAP_CONFIG="+filepath.Join(dir, "node.json"), "HWCAP_RUNTIME="+fake, "FAKE_OUT="+filepath.Join(dir, "dump"))
	for _, args := range [][]string{
		{"state", "c1"}, {"list"}, {"start", "c1"}, {"kill", "c1"}, {"ps", "c1"}, {"pause", "c1"},
		{"resume", "c1"}, {"checkpoint", "c1"}, {"update", "c1"}, {"events", "c1"}, {"spec"}, {"features"},
		{"create", "--help"}, {"exec", "-h"},
	} {
		res := runWrapper(t, bin, dir, env, 10*time.Second, args...)
		if res.code != 0 || res.stdout != fmt.Sprintf("fake stdout %d\n", len(args)) {
			t.Errorf("%q: exit %d stdout %q stderr %q", args, res.code, res.stdout, res.stderr)
		}
	}
	// Control: create reads the node config, which is a FIFO: refused at
	// once (it used to block in open(2) until the FIFO fix), so a command
	// above that opened a file would have failed the same way.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "create", "c1")
	cmd.Dir, cmd.Env = dir, env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if ctx.Err() != nil || err == nil || !strings.Contains(errb.String(), "node.json: not a regular file") {
		t.Errorf("create with a FIFO node config: %v, %q; want a quick refusal naming it: the test cannot see opens", err, errb.String())
	}
}

// TestWrapperRefusesBadAnnotation: a tenant's bad annotation stops create
// with one line on stderr and in the JSON --log file, without running the
// real runtime.
func TestWrapperRefusesBadAnnotation(t *testing.T) {
	bin := wrapperBinary(t)
	node := newWrapperNode(t, "warn", nil)
	dir := t.TempDir()
	fake := writeFake(t, filepath.Join(dir, "bin"), "runc")
	tests := map[string]struct {
		config string
		msg    string
	}{
		"unknown feature": {`{"annotations":{"hwcap.dev/deny":"nosuchfeature"}}`, `annotation hwcap.dev/deny: unknown feature "nosuchfeature"`},
		"unknown key":     {`{"annotations":{"hwcap.dev/dney":"sse2"}}`, `annotation hwcap.dev/dney: unknown key (did you mean hwcap.dev/deny?)`},
		"two masks":       {`{"annotations":{"hwcap.dev/deny":"sse2","hwcap.dev/allow":"fpu"}}`, `conflicts with`},
		"bad policy":      {`{"annotations":{"hwcap.dev/deny":"sse2","hwcap.dev/policy":"maybe"}}`, `annotation hwcap.dev/policy: unknown policy "maybe" (want enforce or warn)`},
		// Broken JSON that may hold a key is the wrapper's to refuse; one
		// that cannot (no "hwcap.dev/" in its bytes) the C front end
		// passes to the runtime, which reports it (TestDecideCreateExec).
		"broken json": {`{"annotations":{"hwcap.dev/deny":"sse2"`, `cannot read the bundle's configuration`},
		"non-string":  {`{"annotations":{"hwcap.dev/deny":5}}`, `cannot unmarshal number`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bundle := t.TempDir()
			if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			logFile := filepath.Join(bundle, "log.json")
			dump := filepath.Join(bundle, "dump")
			env := append(node.env(fake), "FAKE_OUT="+dump)
			res := runWrapper(t, bin, "/", env, 30*time.Second, "--log", logFile, "--log-format", "json", "create", "--bundle", bundle, "c1")
			if res.code != 1 || res.stdout != "" {
				t.Errorf("exit %d stdout %q, want 1 and nothing", res.code, res.stdout)
			}
			l := lines(res.stderr)
			if len(l) != 1 || !strings.Contains(l[0], tc.msg) || !strings.Contains(l[0], "container c1") {
				t.Errorf("stderr %q, want one line with %q", res.stderr, tc.msg)
			}
			logs := readJSONLines(t, logFile)
			if len(logs) != 1 || logs[0]["level"] != "error" || !strings.Contains(logs[0]["msg"].(string), tc.msg) {
				t.Errorf("log %v, want one error line with %q", logs, tc.msg)
			}
			if _, err := os.Stat(dump + ".argv"); err == nil {
				t.Errorf("the real runtime ran")
			}
		})
	}
}
