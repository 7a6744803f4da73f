package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

// Case is one file of cases/*.json: a built binary fed hostile input.
type Case struct {
	Doc    string            `json:"doc"`
	Binary string            `json:"binary"` // hwcap-hook, hwcap-runtime, hwcap-shim
	Args   []string          `json:"args"`
	Env    map[string]string `json:"env"`
	// Stdin is the raw input; empty with a hook guard/poststart stage
	// means the default state (id, pid, bundle, Annotations).
	Stdin     *string `json:"stdin"`
	StdinOpen bool    `json:"stdinOpen"` // keep the pipe open until the process exits
	// Annotations go into the default state and the bundle's config.json.
	Annotations map[string]string `json:"annotations"`
	// BundleConfig replaces the bundle's config.json text; BundleMode is
	// missing, fifo, sparse (100 MB of zeros) or truncated.
	BundleConfig *string `json:"bundleConfig"`
	BundleMode   string  `json:"bundleMode"`
	// Node overrides node-configuration fields; NodeMode is missing, fifo
	// or sparse (the file HWCAP_CONFIG names).
	Node     map[string]any `json:"node"`
	NodeMode string         `json:"nodeMode"`
	// Files are created under the case directory: "text", "@fifo",
	// "@symlink:TARGET", "@sparse:BYTES", "@dir".
	Files map[string]string `json:"files"`
	// Pid of the state: zero (default), dead, init, foreign-masked.
	Pid        string  `json:"pid"`
	ViaShell   bool    `json:"viaShell"` // run the binary as a child of sh, not of the test
	Exit       int     `json:"exit"`
	Stderr     string  `json:"stderr"` // regexp for the one stderr line; "" = no output
	StderrMax  int     `json:"stderrLines"`
	MaxSeconds float64 `json:"maxSeconds"`
}

const defaultMaxSeconds = 10

var placeholder = regexp.MustCompile(`\{\{([a-z]+)(?::([^}]*))?\}\}`)

// env is what a case's text may refer to.
type env struct {
	dir, bundle, feature, shim string
	pid                        int
}

func (e *env) expand(s string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		p := placeholder.FindStringSubmatch(m)
		switch p[1] {
		case "dir":
			return e.dir
		case "bundle":
			return e.bundle
		case "feature":
			return e.feature
		case "shim":
			return e.shim
		case "pid":
			return strconv.Itoa(e.pid)
		case "repeat": // {{repeat:TEXT:COUNT}}
			i := strings.LastIndexByte(p[2], ':')
			n, _ := strconv.Atoi(p[2][i+1:])
			return strings.Repeat(p[2][:i], n)
		}
		return m
	})
}

func (e *env) expandMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		out[e.expand(k)] = e.expand(v)
	}
	return out
}

func loadCases(t *testing.T) map[string]*Case {
	t.Helper()
	files, err := filepath.Glob("cases/*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Case{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Doc == "" || c.Binary == "" {
			t.Fatalf("%s: doc and binary are required", f)
		}
		if _, err := regexp.Compile(c.Stderr); err != nil {
			t.Fatalf("%s: stderr: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = &c
	}
	return out
}

// TestCorpusSize keeps the corpus honest: at least 40 cases, each binary
// covered.
func TestCorpusSize(t *testing.T) {
	cases := loadCases(t)
	per := map[string]int{}
	for _, c := range cases {
		per[c.Binary]++
	}
	if len(cases) < 40 || per["hwcap-hook"] == 0 || per["hwcap-runtime"] == 0 || per["hwcap-shim"] == 0 {
		t.Fatalf("%d cases (%v), want at least 40 covering hook, runtime and shim", len(cases), per)
	}
	t.Logf("%d cases: %v", len(cases), per)
}

func TestCorpus(t *testing.T) {
	testutil.RequireRoot(t)
	bins := binaries(t)
	f, _, _ := testutil.HostFeature(t)
	feature := f.Name
	cases := loadCases(t)
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, c, bins, feature)
		})
	}
}

func runCase(t *testing.T, c *Case, bins map[string]string, feature string) {
	dir := t.TempDir()
	e := &env{dir: dir, bundle: filepath.Join(dir, "bundle"), feature: feature, shim: bins["hwcap-shim"]}
	for _, d := range []string{e.bundle, filepath.Join(dir, "profiles")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, spec := range c.Files {
		makeFile(t, filepath.Join(dir, e.expand(name)), e.expand(spec))
	}
	e.pid = statePid(t, c.Pid, bins, feature, dir)
	ann := e.expandMap(c.Annotations)

	// Bundle config.json.
	cfgPath := filepath.Join(e.bundle, "config.json")
	cfgText := defaultConfig(ann)
	if c.BundleConfig != nil {
		cfgText = e.expand(*c.BundleConfig)
	}
	switch c.BundleMode {
	case "":
		writeFile(t, cfgPath, cfgText)
	case "missing":
	case "truncated":
		writeFile(t, cfgPath, cfgText[:len(cfgText)/2])
	default:
		makeFile(t, cfgPath, "@"+c.BundleMode)
	}

	// Node configuration.
	nodePath := filepath.Join(dir, "node.json")
	node := map[string]any{
		"defaultPolicy": "enforce", "profileDir": filepath.Join(dir, "profiles"),
		"logFile": filepath.Join(dir, "log", "hwcap.log"), "runDir": filepath.Join(dir, "run"),
		"shimPath": bins["hwcap-shim"],
	}
	for k, v := range c.Node {
		if s, ok := v.(string); ok {
			v = e.expand(s)
		}
		node[k] = v
	}
	switch c.NodeMode {
	case "":
		data, _ := json.Marshal(node)
		writeFile(t, nodePath, string(data))
	case "missing":
	default:
		makeFile(t, nodePath, "@"+c.NodeMode)
	}

	// Stdin.
	stage := ""
	if len(c.Args) > 0 {
		stage = c.Args[0]
	}
	var stdin string
	switch {
	case c.Stdin != nil:
		stdin = e.expand(*c.Stdin)
	case c.Binary == "hwcap-hook" && stage == "precreate":
		stdin = cfgText
	case c.Binary == "hwcap-hook":
		st := map[string]any{"ociVersion": "1.0.2", "id": "hostile", "status": "creating", "pid": e.pid, "bundle": e.bundle}
		if ann != nil {
			st["annotations"] = ann
		}
		data, _ := json.Marshal(st)
		stdin = string(data)
	}

	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = e.expand(a)
	}
	argv := append([]string{bins[c.Binary]}, args...)
	if c.ViaShell {
		argv = append([]string{"/bin/sh", "-c", `"$0" "$@"; exit $?`}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = e.bundle
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HWCAP_CONFIG=" + nodePath,
		"HWCAP_RUNTIME=/bin/true", "HWCAP_RUN_DIR=" + filepath.Join(dir, "run")}
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+e.expand(v))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var keepOpen *os.File
	if c.StdinOpen {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString(stdin); err != nil {
			t.Fatal(err)
		}
		cmd.Stdin, keepOpen = r, w
		defer r.Close()
		defer w.Close()
	} else {
		cmd.Stdin = strings.NewReader(stdin)
	}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	_ = keepOpen
	if cmd.ProcessState == nil {
		t.Fatalf("%s did not run: %v", c.Binary, err)
	}
	code := cmd.ProcessState.ExitCode()
	out := stderr.String()
	t.Logf("%s %q: exit %d in %s\nstderr: %s", c.Binary, args, code, took.Round(time.Millisecond), out)

	max := c.MaxSeconds
	if max == 0 {
		max = defaultMaxSeconds
	}
	if took > time.Duration(max*float64(time.Second)) {
		t.Errorf("took %s, more than %gs", took, max)
	}
	if code != c.Exit {
		t.Errorf("exit %d, want %d (documented code)", code, c.Exit)
	}
	all := stdout.String() + out
	for _, bad := range []string{"panic:", "goroutine ", "runtime error", "SIGSEGV"} {
		if strings.Contains(all, bad) {
			t.Errorf("output has %q: %s", bad, all)
		}
	}
	checkStderr(t, c, out)
	if c.Binary == "hwcap-hook" && stage != "precreate" && stdout.Len() != 0 {
		t.Errorf("the hook wrote to stdout: %q", stdout.String())
	}
	checkNoHalfFiles(t, dir)
}

// checkStderr: one line (or StderrMax), matching the regexp; printable
// except for the newline ending each line.
func checkStderr(t *testing.T, c *Case, out string) {
	t.Helper()
	if c.Stderr == "" {
		if out != "" {
			t.Errorf("stderr = %q, want nothing", out)
		}
		return
	}
	want := 1
	if c.StderrMax > 0 {
		want = c.StderrMax
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if !strings.HasSuffix(out, "\n") || len(lines) > want {
		t.Errorf("stderr is not %d whole line(s): %q", want, out)
	}
	for _, r := range strings.TrimSuffix(out, "\n") {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e)) {
			t.Errorf("stderr has control character %U: %q", r, out)
			break
		}
	}
	if !regexp.MustCompile(c.Stderr).MatchString(lines[len(lines)-1]) {
		t.Errorf("stderr line %q does not match %q", lines[len(lines)-1], c.Stderr)
	}
	if len(out) > 8<<10 {
		t.Errorf("stderr is %d bytes long", len(out))
	}
}

// checkNoHalfFiles: the log holds whole JSON lines; no temp or dot file is
// left in the run directory or next to the log.
func checkNoHalfFiles(t *testing.T, dir string) {
	t.Helper()
	logPath := filepath.Join(dir, "log", "hwcap.log")
	if f, err := os.Open(logPath); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		s.Buffer(nil, 4<<20)
		for s.Scan() {
			var m map[string]any
			if err := json.Unmarshal(s.Bytes(), &m); err != nil || m["decision"] == nil {
				t.Errorf("log line is not a whole record: %q (%v)", s.Text(), err)
			}
		}
		if st, _ := f.Stat(); st != nil && st.Size() > 0 {
			b := make([]byte, 1)
			if _, err := f.ReadAt(b, st.Size()-1); err == nil && b[0] != '\n' {
				t.Errorf("log does not end with a newline")
			}
		}
	}
	for _, d := range []string{filepath.Join(dir, "run"), filepath.Join(dir, "log")} {
		_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(de.Name(), ".") {
				t.Errorf("left behind: %s", p)
			}
			return nil
		})
	}
}

func defaultConfig(ann map[string]string) string {
	cfg := map[string]any{"ociVersion": "1.0.2", "process": map[string]any{"args": []string{"/bin/sh"}, "cwd": "/"}, "root": map[string]any{"path": "rootfs"}}
	if ann != nil {
		cfg["annotations"] = ann
	}
	data, _ := json.Marshal(cfg)
	return string(data)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeFile creates text or a special file (see Case.Files).
func makeFile(t *testing.T, path, spec string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	switch {
	case spec == "@fifo":
		err = syscall.Mkfifo(path, 0o644)
	case spec == "@dir":
		err = os.Mkdir(path, 0o755)
	case strings.HasPrefix(spec, "@symlink:"):
		err = os.Symlink(strings.TrimPrefix(spec, "@symlink:"), path)
	case spec == "@sparse" || strings.HasPrefix(spec, "@sparse:"):
		size := int64(100 << 20)
		if s := strings.TrimPrefix(spec, "@sparse:"); s != spec {
			size, _ = strconv.ParseInt(s, 10, 64)
		}
		var f *os.File
		if f, err = os.Create(path); err == nil {
			err = errors.Join(f.Truncate(size), f.Close())
		}
	default:
		err = os.WriteFile(path, []byte(spec), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// statePid returns the pid a case's state carries.
func statePid(t *testing.T, mode string, bins map[string]string, feature, dir string) int {
	t.Helper()
	switch mode {
	case "", "zero":
		return 0
	case "init":
		return 1
	case "self":
		return os.Getpid()
	case "dead":
		cmd := exec.Command("/bin/true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return cmd.Process.Pid
	case "foreign-masked":
		return pausedShim(t, bins, feature, dir)
	}
	t.Fatalf("unknown pid mode %q", mode)
	return 0
}

// pausedShim starts the test-hooks build of hwcap-shim, which masks itself
// (feature hidden) and waits before exec: a masked process that is not a
// child of the hook's parent — another container's init, as far as the
// guard can tell.
func pausedShim(t *testing.T, bins map[string]string, feature, dir string) int {
	t.Helper()
	fifo := filepath.Join(dir, "pause")
	for _, p := range []string{fifo, fifo + ".go"} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bins["hwcap-shim-paused"], "--deny", feature, "--policy", "warn", "--run-dir", filepath.Join(dir, "shim-run"), "--", "/bin/true")
	cmd.Env = []string{"HWCAP_TEST_PAUSE=" + fifo, "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ch := make(chan int, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			ch <- 0
			return
		}
		defer f.Close()
		line, _ := bufio.NewReader(f).ReadString('\n')
		pid, _ := strconv.Atoi(strings.TrimSpace(line))
		ch <- pid
	}()
	select {
	case pid := <-ch:
		if pid != cmd.Process.Pid {
			t.Fatalf("paused shim reported pid %d, started %d", pid, cmd.Process.Pid)
		}
		v, err := auxv.ReadPID(pid)
		if err != nil {
			t.Fatal(err)
		}
		tab, _ := hwcap.Host()
		if bits, _ := tab.Bits([]string{feature}); !v.HWCAPs().And(bits).IsZero() {
			t.Fatalf("paused shim still shows %s", feature)
		}
		return pid
	case <-time.After(20 * time.Second):
		t.Fatal("the paused shim did not report its pid")
	}
	return 0
}

var builtBins map[string]string

// binaries builds the commands once per test binary (TestMain).
func binaries(t *testing.T) map[string]string {
	t.Helper()
	if builtBins == nil {
		t.Fatal(buildErr)
	}
	return builtBins
}

var buildErr error

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hwcap-hostile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builtBins, buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) (map[string]string, error) {
	bins, err := testutil.BuildCommands(dir, "hwcap-hook", "hwcap-runtime", "hwcap-shim")
	if err != nil {
		return nil, err
	}
	root, err := testutil.ModuleRoot()
	if err != nil {
		return nil, err
	}
	paused := filepath.Join(dir, "hwcap-shim-paused")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "hwcap_testhooks", "-o", paused, "./cmd/hwcap-shim")
	if p, err := exec.LookPath("go"); err != nil || p == "" {
		cmd.Path = "/usr/local/go/bin/go"
	}
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build paused shim: %w\n%s", err, out)
	}
	bins["hwcap-shim-paused"] = paused
	return bins, nil
}
