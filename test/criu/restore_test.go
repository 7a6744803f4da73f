package criu

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/checkpoint-restore/go-criu/v8/crit/images/mm"
	"google.golang.org/protobuf/proto"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/criuimg/imgtest"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/testutil"
)

// waitTicks waits until the payload's log has more than n lines and
// returns the new count.
func waitTicks(t *testing.T, log string, n int) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(log)
		if c := strings.Count(string(b), "\n"); c > n {
			return c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not grow past %d lines: the payload is not running", log, n)
	return 0
}

// missingFeature returns a feature of this host's table the host lacks.
func missingFeature(t *testing.T, host *node.Node) (string, hwcap.Words) {
	t.Helper()
	tab, err := host.Table()
	if err != nil {
		t.Fatal(err)
	}
	missing := tab.Missing(tab.Known(), host.Words)
	if len(missing) == 0 {
		t.Fatal("this host has every feature hwcap knows: nothing to make a checkpoint incompatible with")
	}
	w, err := tab.Bits(missing[:1])
	if err != nil {
		t.Fatal(err)
	}
	return missing[0], w
}

// withExtra copies image directory src to dst and ORs extra into the
// AT_HWCAP* words of every task: a checkpoint as if taken on a CPU with
// one more feature. Both copies: the saved one (mm_saved_auxv) and the one
// on the task's initial stack in its memory pages, which check-image reads
// (a task on that CPU saw the feature there too; a stack showing fewer
// features than the saved words is what hwcap's eBPF backend leaves).
func withExtra(t *testing.T, src, dst string, extra hwcap.Words) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var stacks [][]uint64 // each task's vector before AT_NULL, as on its stack
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Name(), "mm-") && strings.HasSuffix(e.Name(), ".img") {
			n := binary.LittleEndian.Uint32(b[8:])
			var m mm.MmEntry
			if err := proto.Unmarshal(b[12:12+n], &m); err != nil {
				t.Fatal(err)
			}
			// Up to AT_NULL; CRIU 4.2 saves the vector without it.
			end := len(m.MmSavedAuxv) &^ 1
			for i := 0; i+1 < len(m.MmSavedAuxv); i += 2 {
				if m.MmSavedAuxv[i] == 0 {
					end = i
					break
				}
			}
			if end == 0 {
				t.Fatalf("%s: empty mm_saved_auxv", e.Name())
			}
			stacks = append(stacks, slices.Clone(m.MmSavedAuxv[:end]))
			for i := 0; i+1 < len(m.MmSavedAuxv); i += 2 {
				for w, typ := range hwcap.AuxvType {
					if m.MmSavedAuxv[i] == typ {
						m.MmSavedAuxv[i+1] |= extra[w]
					}
				}
			}
			if b, err = imgtest.Image("MM", &m); err != nil {
				t.Fatal(err)
			}
		}
		files[e.Name()] = b
	}
	if len(stacks) == 0 {
		t.Fatalf("%s: no mm image", src)
	}
	// The stack's copy: the saved vector's bytes, found in the pages. A
	// program may keep copies (read from /proc/self/auxv): those are
	// patched too, as that CPU's kernel would have given them.
	for _, vec := range stacks {
		pat := make([]byte, 0, 8*len(vec))
		for _, w := range vec {
			pat = binary.LittleEndian.AppendUint64(pat, w)
		}
		found := false
		for name, b := range files {
			if !strings.HasPrefix(name, "pages-") {
				continue
			}
			b = slices.Clone(b)
			for from := 0; ; {
				at := bytes.Index(b[from:], pat)
				if at < 0 {
					break
				}
				at += from
				for i := 0; i+1 < len(vec); i += 2 {
					for w, typ := range hwcap.AuxvType {
						if vec[i] == typ {
							off := at + 8*(i+1)
							binary.LittleEndian.PutUint64(b[off:], binary.LittleEndian.Uint64(b[off:])|extra[w])
						}
					}
				}
				found = true
				from = at + len(pat)
			}
			files[name] = b
		}
		if !found {
			t.Fatalf("%s: no task's auxiliary vector in its memory pages (does CRIU still dump the stack?)", src)
		}
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRestoreThroughWrapper checkpoints a real runc container with CRIU
// and restores it through hwcap-runtime: the real checkpoint restores and
// keeps running; the same checkpoint with one feature this host lacks
// added to its saved words is refused under enforce (runc never runs) and
// restored under warn, where CRIU puts the foreign words back verbatim.
func TestRestoreThroughWrapper(t *testing.T) {
	testutil.RequireRoot(t)
	rt := testutil.RequireRuntime(t, "runc")
	c := criu(t)
	restoreThroughWrapper(t, rt, []string{"--criu", c.Criu}, nil)
}

// TestRestoreThroughWrapperCrun is the same with crun: Debian 12's crun
// 1.8.1 is built without CRIU, so it is the one fetch.sh unpacks with
// CRIU (sid's), which checkpoints through libcriu and finds criu on PATH.
func TestRestoreThroughWrapperCrun(t *testing.T) {
	testutil.RequireRoot(t)
	c := criu(t)
	if c.Crun == "" {
		t.Fatalf("fetch.sh printed no CRUN= (%s's crun)", c.Suite)
	}
	// crun's default state root, not a private one: crun 1.24 to 1.28
	// (sid's) register the shared empty directory they bind over masked
	// directories (/proc/acpi, /sys/firmware) with CRIU under the default
	// root on checkpoint but under --root on restore, which then fails
	// with "mnt: No mapping for 101:(null) mountpoint" (containers/crun
	// pull request 2239). The container's id is unique; delete removes it.
	rt := &testutil.Runtime{Name: "crun", Bin: c.Crun, Root: "/run/crun", Unshare: testutil.HybridCgroups()}
	if rt.Unshare {
		testutil.RequireCommand(t, "unshare")
	}
	restoreThroughWrapper(t, rt, nil, []string{"PATH=" + filepath.Dir(c.Criu) + ":" + os.Getenv("PATH")})
}

// restoreThroughWrapper runs the scenario with runtime rt; globals are
// extra global flags for the runtime (runc's --criu), env extra variables.
func restoreThroughWrapper(t *testing.T, rt *testutil.Runtime, globals, extraEnv []string) {
	gcc := testutil.RequireCommand(t, "gcc")
	tmp := t.TempDir()
	bins, err := testutil.BuildCommands(tmp, "hwcap-runtime", "hwcapctl")
	if err != nil {
		t.Fatal(err)
	}
	b := testutil.NewBundle(t, "/svepath", "/log/log", "50")
	if out, err := exec.Command(gcc, "-static", "-O2", "-o", filepath.Join(b.Rootfs, "svepath"), "payload/svepath.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	logDir := filepath.Join(tmp, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b.Spec.Mounts = append(b.Spec.Mounts, specMount(logDir))
	b.Write(t)
	log := filepath.Join(logDir, "log")

	cfg := filepath.Join(tmp, "node.json")
	nodeLog := filepath.Join(tmp, "hwcap.log")
	setPolicy := func(p string) {
		data, _ := json.Marshal(map[string]any{"defaultPolicy": p, "runDir": filepath.Join(tmp, "run"), "logFile": nodeLog, "runtimes": []string{rt.Bin}})
		if err := os.WriteFile(cfg, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setPolicy("enforce")
	env := append(append(os.Environ(), extraEnv...), "HWCAP_CONFIG="+cfg)
	id := testutil.ID("criu-" + rt.Name)
	runtimeLog := filepath.Join(tmp, "runtime-log.json")
	// The wrapper, with the runtime's global flags, run where rt runs
	// (crun on hybrid cgroups: in a mount namespace without cgroup v2).
	wrapperRT := *rt
	wrapperRT.Bin = bins["hwcap-runtime"]
	// wrapper runs hwcap-runtime with args; a failure's report shows the
	// runtime's log and, for checkpoint and restore, CRIU's.
	wrapper := func(args ...string) *testutil.Result {
		os.Remove(runtimeLog)
		logs := []string{runtimeLog}
		if i := slices.Index(args, "--work-path"); i > 0 && i+1 < len(args) {
			logs = append(logs, filepath.Join(args[i+1], map[string]string{"checkpoint": "dump.log", "restore": "restore.log"}[args[0]]))
		}
		argv := wrapperRT.Argv(append(append(slices.Clone(globals), "--log", runtimeLog, "--log-format", "json"), args...)...)
		res := run(t, b.Dir, env, logs, argv...)
		if l, err := os.ReadFile(runtimeLog); err == nil {
			t.Logf("runtime log: %s", l)
			res.Stderr += string(l)
		}
		return res
	}
	// crun wants the work directory to exist.
	work := func(name string) string {
		d := filepath.Join(tmp, name)
		if rt.Name == "crun" {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	// checkpoint and restore, with crFlags after the verb. crun on hybrid
	// cgroups runs with cgroup v2 unmounted (testutil.HybridCgroups), so
	// the container stays in the root of the v2 hierarchy; CRIU would dump
	// that whole tree and restore a copy of it under the container's
	// cgroup, which nobody removes, and each run copies the copies (half a
	// million empty cgroups after a day, checkpoints timing out). The
	// wrapper passes the flag through like any other.
	var crFlags []string
	if rt.Name == "crun" && rt.Unshare {
		crFlags = []string{"--manage-cgroups-mode=ignore"}
	}
	cr := func(verb string, args ...string) *testutil.Result {
		return wrapper(append(append([]string{verb}, crFlags...), args...)...)
	}
	t.Cleanup(func() {
		wrapper("delete", "--force", id)
		if n := testutil.RemoveCgroups(id); n > 0 {
			t.Errorf("%d cgroup(s) named %s were left behind after delete", n, id)
		}
	})

	if res := wrapper("run", "-d", "--bundle", b.Dir, id); res.Code != 0 {
		t.Fatalf("run: %s", res.Report())
	}
	n := waitTicks(t, log, 0)
	img := filepath.Join(tmp, "img")
	if res := cr("checkpoint", "--image-path", img, "--work-path", work("w1"), id); res.Code != 0 {
		t.Fatalf("checkpoint: %s\nCRIU's errors:\n%s", res.Report(), criuErrors(filepath.Join(tmp, "w1", "dump.log")))
	}
	if res := run(t, "", nil, nil, bins["hwcapctl"], "check-image", img); res.Code != 0 {
		t.Fatalf("check-image of a checkpoint taken on this host: %s, want exit 0", res.Report())
	}

	host, err := node.Host()
	if err != nil {
		t.Fatal(err)
	}
	feature, extra := missingFeature(t, host)
	foreign := filepath.Join(tmp, "foreign")
	withExtra(t, img, foreign, extra)
	if res := run(t, "", nil, nil, bins["hwcapctl"], "check-image", foreign); res.Code != 1 {
		t.Fatalf("check-image of the foreign checkpoint: %s, want exit 1", res.Report())
	}

	// enforce: refused before the runtime runs, one line naming the feature.
	res := cr("restore", "-d", "--image-path", foreign, "--work-path", filepath.Join(tmp, "w2"), "--bundle", b.Dir, id)
	code, stderr := res.Code, res.Stderr
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "refusing restore under policy enforce") ||
		!strings.Contains(stderr, "were started with "+feature+", which this host lacks") {
		t.Fatalf("restore of the foreign checkpoint under enforce: exit %d, stderr %q", code, stderr)
	}
	if res := run(t, "", nil, nil, rt.Argv("state", id)...); res.Code == 0 {
		t.Fatalf("%s has the container after a refused restore", rt.Name)
	}
	if _, err := os.Stat(filepath.Join(tmp, "w2")); err == nil {
		t.Errorf("the work path exists: %s ran", rt.Name)
	}

	// The real checkpoint restores and keeps running; a child it forks
	// after the restore runs too.
	if res := cr("restore", "-d", "--image-path", img, "--work-path", work("w3"), "--bundle", b.Dir, id); res.Code != 0 {
		t.Fatalf("restore: %s\nCRIU's errors:\n%s", res.Report(), criuErrors(filepath.Join(tmp, "w3", "restore.log")))
	}
	n = waitTicks(t, log, n)
	if err := os.WriteFile(log+".fork", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitLine(t, log, "child pid=")

	// warn: the foreign checkpoint is restored, with a warning, and CRIU
	// gives the restored init the foreign words verbatim.
	img2 := filepath.Join(tmp, "img2")
	if res := cr("checkpoint", "--image-path", img2, "--work-path", work("w4"), id); res.Code != 0 {
		t.Fatalf("second checkpoint: %s\nCRIU's errors:\n%s", res.Report(), criuErrors(filepath.Join(tmp, "w4", "dump.log")))
	}
	foreign2 := filepath.Join(tmp, "foreign2")
	withExtra(t, img2, foreign2, extra)
	setPolicy("warn")
	res = cr("restore", "-d", "--image-path", foreign2, "--work-path", work("w5"), "--bundle", b.Dir, id)
	code, stderr = res.Code, res.Stderr
	if code != 0 || !strings.Contains(stderr, "policy warn: restoring anyway") || !strings.Contains(stderr, feature) {
		t.Fatalf("restore under warn: exit %d, stderr %q", code, stderr)
	}
	waitTicks(t, log, n)
	pid := statePID(t, rt, id)
	v, err := auxv.ReadPID(pid)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.HWCAPs(); !extra.SubsetOf(got) {
		t.Errorf("restored init's saved words %v lack the checkpoint's %s (%v)", got, feature, extra)
	}
	nl, _ := os.ReadFile(nodeLog)
	for _, want := range []string{`"decision":"incompatible"`, `"decision":"identical"`, `"stage":"restore"`} {
		if !strings.Contains(string(nl), want) {
			t.Errorf("node log lacks %s:\n%s", want, nl)
		}
	}
}

func waitLine(t *testing.T, file, prefix string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		f, err := os.Open(file)
		if err == nil {
			s := bufio.NewScanner(f)
			for s.Scan() {
				if strings.HasPrefix(s.Text(), prefix) {
					f.Close()
					return
				}
			}
			f.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: no line starting %q", file, prefix)
}

func statePID(t *testing.T, rt *testutil.Runtime, id string) int {
	t.Helper()
	res := rt.Exec(t, "", nil, "state", id)
	if res.Err != nil {
		t.Fatal(res.Report())
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil || st.Pid <= 0 {
		t.Fatalf("%s state %s: %v", rt.Name, res.Stdout, err)
	}
	return st.Pid
}

// criuErrors returns the Error lines of a CRIU log, for failure messages.
func criuErrors(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "Error") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
