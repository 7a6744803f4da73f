package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/bpf/loader"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

// bpfVerdict is how the probe's bpf path must begin on this host: on a
// locked-down kernel (this project's development machine), unavailable
// naming the lockdown; elsewhere unavailable all the same, because the
// tests never install the backend in the node's /sys/fs/bpf.
func bpfVerdict(t *testing.T) string {
	t.Helper()
	if lvl := testutil.Lockdown(t); lvl != "none" {
		return `unavailable (kernel lockdown forbids bpf_probe_write_user: lockdown is "` + lvl + `"`
	}
	return "unavailable ("
}

// TestHookBPFDryRun: the hook alone, with the eBPF backend installed in
// dry-run mode (this host's lockdown refuses the write; the dry-run
// programs record what they would write), registers a container started
// by plain runc under policy warn: its init, a child of init and a process
// started with `runc exec` (not a descendant: reached through the
// container's cgroup) each exec'd with the words host & mask recorded;
// delete runs poststop, which drops the cgroup's entry. crun on this
// hybrid host runs with the v2 hierarchy unmounted, so its containers have
// no cgroup of their own: the hook says so and registers nothing.
func TestHookBPFDryRun(t *testing.T) {
	feat, host, _ := testutil.HostFeature(t)
	dir := testutil.BPFFS(t)
	if _, err := loader.Install(dir, bpf.ModeDryRun); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = bpf.Remove(dir) })
	b, err := bpf.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	keep := hwcap.All
	keep[feat.Word] &^= 1 << feat.Bit
	want := host.And(keep)

	hookForEachRuntime(t, func(t *testing.T, rt *testutil.Runtime) {
		n := newHookNode(t, "warn", false)
		bundle := testutil.NewBundle(t, "/bin/sh", "-c", "/bin/busybox sleep 1000 & exec /bin/busybox sleep 1001")
		bundle.Spec.Hooks = exampleHooks(t, n)
		for _, hs := range [][]specs.Hook{bundle.Spec.Hooks.CreateRuntime, bundle.Spec.Hooks.Poststart, bundle.Spec.Hooks.Poststop} {
			for i := range hs {
				hs[i].Env = append(hs[i].Env, bpf.EnvDir+"="+dir)
			}
		}
		bundle.Spec.Annotations = map[string]string{"hwcap.dev/deny": feat.Name}
		bundle.Write(t)
		id := testutil.ID("hook-bpf")
		t.Cleanup(func() { detached(t, rt, "", nil, "delete", "--force", id) })
		if code, out := detached(t, rt, bundle.Dir, nil, "run", "-d", "--bundle", bundle.Dir, id); code != 0 {
			t.Fatalf("run -d: exit %d: %s", code, out)
		}
		if code, out := detached(t, rt, "", nil, "exec", "-d", id, "/bin/busybox", "sleep", "1002"); code != 0 {
			t.Fatalf("exec -d: exit %d: %s", code, out)
		}
		pid := statePID(t, rt, id)
		recs := n.records(t)
		if len(recs) == 0 || recs[0]["stage"] != "createRuntime" || recs[0]["decision"] != "warned" {
			t.Fatalf("log: %v", recs)
		}
		reason, _ := recs[0]["reason"].(string)
		if rt.Name == "crun" {
			// crun puts the container in no cgroup v2 of its own here
			// (cgroup v1 on a hybrid host): the hook finds no cgroup2
			// mount in crun's namespace, or, when one is visible, the
			// container in the root cgroup or in the runtime's own.
			// Either way it registers nothing.
			noOwn := false
			for _, why := range []string{"cannot find the container's cgroup", "is in the root cgroup", "also holds the runtime"} {
				noOwn = noOwn || strings.Contains(reason, why)
			}
			if !strings.Contains(reason, "dry-run mode") || !noOwn {
				t.Errorf("createRuntime reason %q: want dry-run mode and a container without a cgroup v2 of its own", reason)
			}
			if cgs, _ := b.Cgroups(); len(cgs) != 0 {
				t.Errorf("cgroups registered for a container without one: %v", cgs)
			}
			if _, ok, _ := b.Seen(pid); ok {
				t.Error("crun's init was registered although its cgroup was not")
			}
			deleteContainer(t, rt, id)
			return
		}
		if !strings.Contains(reason, "dry-run mode") || strings.Contains(reason, "failed") {
			t.Errorf("createRuntime reason %q", reason)
		}
		cg, err := bpf.CgroupOf(pid)
		if err != nil {
			t.Fatal(err)
		}
		if m, ok, _ := b.CgroupMask(cg.ID); !ok || m != keep {
			t.Fatalf("cgroup %s (%d) mask %s %v, want %s", cg.Path, cg.ID, m, ok, keep)
		}
		// Every process of the container, by what it runs.
		procs := waitProcs(t, cg.Dir, 3)
		byArg := map[string]int{}
		for _, p := range procs {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
			byArg[strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")] = p
		}
		for name, tc := range map[string]struct {
			cmd            string
			byTask, byCgrp bool
		}{
			"init":  {"/bin/busybox sleep 1001", true, true},
			"child": {"/bin/busybox sleep 1000", true, true},
			"exec":  {"/bin/busybox sleep 1002", false, true},
		} {
			p, ok := byArg[tc.cmd]
			if !ok {
				t.Errorf("%s: no process %q in %v", name, tc.cmd, byArg)
				continue
			}
			s, ok, err := b.Seen(p)
			if err != nil || !ok {
				t.Errorf("%s (pid %d): the exec program did not record its exec (%v)", name, p, err)
				continue
			}
			if s.ByTask != tc.byTask || s.ByCgroup != tc.byCgrp {
				t.Errorf("%s: masked by task %v cgroup %v, want %v %v", name, s.ByTask, s.ByCgroup, tc.byTask, tc.byCgrp)
			}
			for w := range hwcap.NumWords {
				if s.Present[w] && (s.Before[w] != host[w] || s.After[w] != want[w]) {
					t.Errorf("%s: %s before %#x after %#x, want %#x and %#x", name, hwcap.WordName[w], s.Before[w], s.After[w], host[w], want[w])
				}
			}
			// /proc/PID/auxv keeps the kernel's words.
			if v, err := auxv.ReadPID(p); err != nil || v.HWCAPs() != host {
				t.Errorf("%s: /proc/%d/auxv %v %v, want the host's %s", name, p, v.HWCAPs(), err, host)
			}
		}
		deleteContainer(t, rt, id)
		if m, ok, _ := b.CgroupMask(cg.ID); ok {
			t.Errorf("cgroup entry %d (%s) still there after delete: %s", cg.ID, cg.Path, m)
		}
		if got := n.decisions(t, id); strings.Join(got, " ") != "createRuntime=warned poststart=warned poststop=collected" {
			t.Errorf("log decisions %v", got)
		}
	})
}

func statePID(t *testing.T, rt *testutil.Runtime, id string) int {
	t.Helper()
	res := rt.Exec(t, "", nil, "state", id)
	var st struct {
		Pid int `json:"pid"`
	}
	if res.Err != nil || json.Unmarshal([]byte(res.Stdout), &st) != nil || st.Pid <= 0 {
		t.Fatalf("state %s: %s", id, res.Combined())
	}
	return st.Pid
}

// waitProcs returns the pids in cgroup dir once there are at least n.
func waitProcs(t *testing.T, dir string, n int) []int {
	t.Helper()
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		pids = pids[:0]
		for _, f := range strings.Fields(string(data)) {
			p, _ := strconv.Atoi(f)
			pids = append(pids, p)
		}
		if len(pids) >= n {
			return pids
		}
	}
	t.Fatalf("cgroup %s has %v, want %d processes", dir, pids, n)
	return nil
}

func deleteContainer(t *testing.T, rt *testutil.Runtime, id string) {
	t.Helper()
	rt.Exec(t, "", nil, "kill", id, "KILL")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res := rt.Exec(t, "", nil, "delete", id); res.Err == nil {
			return
		}
	}
	t.Fatalf("cannot delete %s", id)
}

// TestWrapperRestoreNoBackend: hwcap-runtime restore of a container that
// asks for a mask, on this host where neither the series nor the eBPF
// backend works (lockdown): under enforce it is refused before the real
// runtime runs, with one line naming the probe's bpf verdict; under warn
// the real runtime's restore runs (exec'd: there is no backend to re-apply
// the mask with afterwards) and the node log says warned, backend none.
func TestWrapperRestoreNoBackend(t *testing.T) {
	feature := hostFeatureName(t)
	rt := testutil.RequireRuntime(t, "runc")
	w := wrapped(t, rt)
	for _, pol := range []string{"enforce", "warn"} {
		t.Run(pol, func(t *testing.T) {
			node := newWrapperNode(t, pol, nil)
			env := node.env(rt.Bin)
			b := testutil.NewBundle(t, "sleep", "100")
			b.Spec.Annotations = map[string]string{"hwcap.dev/deny": feature}
			b.Write(t)
			id := testutil.ID("restore-" + pol)
			t.Cleanup(func() { detached(t, rt, "/", nil, "delete", "--force", id) })
			img := filepath.Join(t.TempDir(), "img") // none: the runtime's own error under warn
			code, out := detached(t, w, b.Dir, env, "restore", "-d", "--image-path", img, "--bundle", b.Dir, id)
			logs := node.nodeLog(t)
			var last map[string]any
			for _, l := range logs {
				if l["stage"] == "restore" && l["decision"] != "no-images" {
					last = l
				}
			}
			if last == nil {
				t.Fatalf("no mask decision in the node log: %v", logs)
			}
			if last["backend"] != "none" {
				t.Errorf("backend %v, want none: %v", last["backend"], last)
			}
			if pol == "enforce" {
				l := lines(out)
				if code != 1 || len(l) != 1 || !strings.Contains(l[0], "policy enforce") || !strings.Contains(l[0], "bpf="+bpfVerdict(t)) {
					t.Errorf("exit %d, output %q: want 1 and one line with the probe's bpf verdict %q", code, out, bpfVerdict(t))
				}
				if last["decision"] != "refused" {
					t.Errorf("decision %v, want refused", last["decision"])
				}
				if st := rt.Exec(t, "/", nil, "state", id); st.Err == nil {
					t.Error("the container exists after a refused restore")
				}
				return
			}
			if last["decision"] != "warned" {
				t.Errorf("decision %v, want warned", last["decision"])
			}
			if code == 0 || !strings.Contains(out, "policy warn: running without the mask") {
				t.Errorf("exit %d, output %q: want runc's failure (no images) after the wrapper's warning", code, out)
			}
		})
	}
}
