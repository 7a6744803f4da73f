package ctl

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/testutil"
)

// hostWords reads this process's AT_HWCAP* words through the auxv
// package's own reader.
func hostWords(t *testing.T) hwcap.Words {
	t.Helper()
	v, err := auxv.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Fatal(err)
	}
	return v.HWCAPs()
}

func TestFeaturesHost(t *testing.T) {
	r := mustRun(t, ExitOK, "features", "--json")
	n, err := node.ParseDescription("features", []byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if n.Words != hostWords(t) {
		t.Errorf("features says %s, /proc/self/auxv %s", n.Words, hostWords(t))
	}
	uname, err := exec.Command("uname", "-r", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(uname))
	if arch, _ := hwcap.CanonicalArch(f[1]); n.Kernel != f[0] || n.Arch != arch {
		t.Errorf("kernel %q arch %q, uname says %v", n.Kernel, n.Arch, f)
	}
	human := mustRun(t, ExitOK, "features").stdout
	tab, _ := hwcap.Host()
	for i, w := range hwcap.WordName {
		var one hwcap.Words
		one[i] = n.Words[i]
		if !strings.Contains(human, w+" ") || !strings.Contains(human, tab.Render(one)) {
			t.Errorf("human output lacks %s: %s", w, tab.Render(one))
		}
	}
}

// capEff reads CapEff from /proc/self/status with a plain scan.
func capEff(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:\t"); ok {
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return "0x" + strconv.FormatUint(n, 16)
		}
	}
	t.Fatal("no CapEff")
	return ""
}

func TestProbeCLI(t *testing.T) {
	dir := t.TempDir()
	first := decode[probeReport](t, mustRun(t, ExitOK, "probe", "--dir", dir, "--json").stdout)
	second := decode[probeReport](t, mustRun(t, ExitOK, "probe", "--dir", dir, "--json").stdout)
	if first.Cache != "miss" || second.Cache != "hit" {
		t.Errorf("cache states %q then %q, want miss then hit", first.Cache, second.Cache)
	}
	if _, err := os.Stat(dir + "/probe.json"); err != nil {
		t.Errorf("no cache file: %v", err)
	}
	for _, p := range auxv.Paths {
		pr, ok := first.Paths[string(p)]
		if !ok || pr != second.Paths[string(p)] {
			t.Errorf("path %s: %+v then %+v", p, pr, second.Paths[string(p)])
		}
	}
	if first.CapEff != capEff(t) {
		t.Errorf("CapEff %s, /proc/self/status %s", first.CapEff, capEff(t))
	}
	if first.Capabilities["sys_resource"] != auxv.HasCapSysResource() {
		t.Errorf("sys_resource %v, capget says %v", first.Capabilities["sys_resource"], auxv.HasCapSysResource())
	}
	if !first.Capabilities["sys_resource"] && first.Paths["auxv"].Status != "unavailable" {
		t.Errorf("PR_SET_MM_AUXV without CAP_SYS_RESOURCE: %+v", first.Paths["auxv"])
	}
	uname, _ := exec.Command("uname", "-r").Output()
	if first.Kernel != strings.TrimSpace(string(uname)) {
		t.Errorf("kernel %q", first.Kernel)
	}
	inherits := false
	for _, p := range first.Paths {
		inherits = inherits || p.Status == "inherited"
	}
	if first.Inherits != inherits {
		t.Errorf("inherits %v but paths %+v", first.Inherits, first.Paths)
	}
	fresh := decode[probeReport](t, mustRun(t, ExitOK, "probe", "--fresh", "--json").stdout)
	if fresh.Cache != "off: --fresh" || fresh.Paths["map"] != first.Paths["map"] {
		t.Errorf("fresh probe %+v disagrees with %+v", fresh, first)
	}
	human := mustRun(t, ExitOK, "probe", "--dir", dir).stdout
	for _, want := range []string{"path map ", "path auxv", "caps:    CapEff=" + first.CapEff, "cache:   hit"} {
		if !strings.Contains(human, want) {
			t.Errorf("human output lacks %q", want)
		}
	}
}

// startMasked starts the test binary as a process that hides names from
// its own saved auxv and waits; it returns the pid.
func startMasked(t *testing.T, names string) int {
	t.Helper()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), envMaskedChild+"="+names)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("masked child: %q %v", line, err)
	}
	return cmd.Process.Pid
}

func TestInspectProcess(t *testing.T) {
	tab, err := hwcap.Host()
	if err != nil {
		t.Fatal(err)
	}
	host := hostWords(t)
	// Two features this host has: the first set bit of the first two
	// non-empty words (or the first two bits of word 0).
	var hide []string
	for _, name := range tab.Names(host.And(tab.Known())) {
		hide = append(hide, name)
		if len(hide) == 2 {
			break
		}
	}
	if len(hide) < 2 {
		t.Fatalf("host has features %v", tab.Names(host))
	}

	t.Run("plain process", func(t *testing.T) {
		cmd := exec.Command("sleep", "60")
		testutil.StartExeced(t, cmd)
		rep := decode[inspectReport](t, mustRun(t, ExitOK, "inspect", strconv.Itoa(cmd.Process.Pid), "--json").stdout)
		if rep.PID != cmd.Process.Pid || rep.Masked || len(rep.Hidden) != 0 || len(rep.Extra) != 0 {
			t.Errorf("unmasked process reported %+v", rep)
		}
		if rep.Words["hwcap"] != hexWords(host)["hwcap"] {
			t.Errorf("words %v, host %v", rep.Words, hexWords(host))
		}
		if !strings.Contains(mustRun(t, ExitOK, "inspect", strconv.Itoa(cmd.Process.Pid)).stdout, "masked: no") {
			t.Error("human output does not say unmasked")
		}
	})
	t.Run("masked process", func(t *testing.T) {
		pid := startMasked(t, strings.Join(hide, ","))
		rep := decode[inspectReport](t, mustRun(t, ExitOK, "inspect", strconv.Itoa(pid), "--json").stdout)
		if !rep.Masked || !same(rep.Hidden, hide) || len(rep.Extra) != 0 {
			t.Errorf("masked process (hides %v) reported %+v", hide, rep)
		}
		// Cross-check with the raw file.
		v, err := auxv.ReadPID(pid)
		if err != nil {
			t.Fatal(err)
		}
		if got := tab.Missing(host, v.HWCAPs()); !same(got, hide) {
			t.Errorf("/proc/%d/auxv hides %v", pid, got)
		}
		human := mustRun(t, ExitOK, "inspect", strconv.Itoa(pid)).stdout
		if !strings.Contains(human, "masked: yes, hides 2 of the host's features: "+strings.Join(hide, " ")) || !strings.Contains(human, "children: ") {
			t.Errorf("human output:\n%s", human)
		}
	})
}

func TestInspectContainer(t *testing.T) {
	testutil.RequireRoot(t)
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) {
			rt := testutil.RequireRuntime(t, name)
			b := testutil.NewBundle(t, "sleep", "60")
			b.Write(t)
			id := testutil.ID("hwcapctl-inspect")
			runDetached(t, rt, b, id)
			// `run -d` returns once the init is told to start; it execs
			// the entrypoint a moment later. Inspect until the pid runs it.
			var rep inspectReport
			var cmdline []byte
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				rep = decode[inspectReport](t, mustRun(t, ExitOK, "inspect", "--container", id, "--runtime", name, "--root", rt.Root, "--json").stdout)
				if rep.Container != id || rep.Runtime != name || rep.PID <= 0 {
					t.Fatalf("report %+v", rep)
				}
				cmdline, _ = os.ReadFile("/proc/" + strconv.Itoa(rep.PID) + "/cmdline")
				if string(cmdline) == "sleep\x0060\x00" || time.Now().After(deadline) {
					break
				}
			}
			if string(cmdline) != "sleep\x0060\x00" {
				t.Errorf("pid %d runs %q, not the container's sleep 60", rep.PID, cmdline)
			}
			if rep.Masked || len(rep.Hidden) != 0 || rep.Words["hwcap"] != hexWords(hostWords(t))["hwcap"] {
				t.Errorf("unmasked container reported %+v", rep)
			}
			r := mustRun(t, ExitFail, "inspect", "--container", "no-such-"+id, "--runtime", name, "--root", rt.Root)
			if !strings.Contains(r.stderr, name+" state no-such-"+id) {
				t.Errorf("missing container error: %q", r.stderr)
			}
		})
	}
}

// runDetached starts the bundle as container id with `run -d` (the
// container's init keeps the runtime's stdio open: testutil.Run gives it
// files, not pipes).
func runDetached(t *testing.T, rt *testutil.Runtime, b *testutil.Bundle, id string) {
	t.Helper()
	t.Cleanup(func() { rt.Delete(t, id) })
	if res := rt.Exec(t, b.Dir, nil, "run", "-d", "--bundle", b.Dir, id); res.Err != nil {
		t.Fatalf("%s run -d: %s", rt.Name, res.Report())
	}
}

// TestInspectMaskedContainer runs a real runc container whose init is the
// shim (built with its test hook): the shim masks itself and pauses before
// exec, and inspect --container must report the container masked, with
// exactly the hidden features.
func TestInspectMaskedContainer(t *testing.T) {
	testutil.RequireRoot(t)
	rt := testutil.RequireRuntime(t, "runc")
	tab, err := hwcap.Host()
	if err != nil {
		t.Fatal(err)
	}
	hide := tab.Names(hostWords(t).And(tab.Known()))[:2]

	shim := filepath.Join(t.TempDir(), "hwcap-shim")
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	goBin := "go"
	if _, err := exec.LookPath("go"); err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	build := exec.Command(goBin, "build", "-trimpath", "-tags", "hwcap_testhooks", "-o", shim, "./cmd/hwcap-shim")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build shim: %v\n%s", err, out)
	}

	b := testutil.NewBundle(t, "/hwcap-shim", "--policy", "warn", "--run-dir", "/tmp", "--deny", strings.Join(hide, ","), "--", "sleep", "60")
	testutil.CopyFile(t, shim, filepath.Join(b.Rootfs, "hwcap-shim"), 0o755)
	fifo := filepath.Join(b.Rootfs, "pause")
	for _, p := range []string{fifo, fifo + ".go"} {
		if err := unix.Mkfifo(p, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	b.Spec.Process.Env = append(b.Spec.Process.Env, "HWCAP_TEST_PAUSE=/pause")
	b.Write(t)
	id := testutil.ID("hwcapctl-masked")
	runDetached(t, rt, b, id)

	// Wait until the shim has masked itself (it writes its pid).
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	select {
	case line := <-got:
		t.Logf("shim paused: %q", line)
	case <-time.After(30 * time.Second):
		t.Fatal("the shim did not pause within 30s")
	}
	defer func() {
		if w, err := os.OpenFile(fifo+".go", os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			w.Write([]byte{1})
			w.Close()
		}
	}()

	rep := decode[inspectReport](t, mustRun(t, ExitOK, "inspect", "--container", id, "--root", rt.Root, "--json").stdout)
	if !rep.Masked || !same(rep.Hidden, hide) || len(rep.Extra) != 0 || rep.Runtime != "runc" {
		t.Errorf("container whose init hides %v reported %+v", hide, rep)
	}
	if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(rep.PID) + "/comm"); strings.TrimSpace(string(comm)) != "hwcap-shim" {
		t.Errorf("pid %d is %q, want the shim", rep.PID, comm)
	}
	human := mustRun(t, ExitOK, "inspect", "--container", id, "--root", rt.Root).stdout
	if !strings.Contains(human, "container "+id+" (runc, init pid ") || !strings.Contains(human, "masked: yes") {
		t.Errorf("human output:\n%s", human)
	}
}
