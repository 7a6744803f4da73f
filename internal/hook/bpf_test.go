package hook

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

// fakeBPF records what the hook asks of the eBPF backend.
type fakeBPF struct {
	mode    bpf.Mode
	tasks   map[int]hwcap.Words
	cgroups map[uint64]hwcap.Words
	gcs     int
	closed  int
}

func (b *fakeBPF) Mode() bpf.Mode { return b.mode }
func (b *fakeBPF) SetTask(pid int, keep hwcap.Words) (hwcap.Words, error) {
	if cur, ok := b.tasks[pid]; ok {
		keep = keep.And(cur)
	}
	b.tasks[pid] = keep
	return keep, nil
}
func (b *fakeBPF) TaskMask(pid int) (hwcap.Words, bool, error) {
	w, ok := b.tasks[pid]
	return w, ok, nil
}
func (b *fakeBPF) SetCgroup(id uint64, keep hwcap.Words) (hwcap.Words, error) {
	b.cgroups[id] = keep
	return keep, nil
}
func (b *fakeBPF) CgroupMask(id uint64) (hwcap.Words, bool, error) {
	w, ok := b.cgroups[id]
	return w, ok, nil
}
func (b *fakeBPF) GC() ([]uint64, error) { b.gcs++; return []uint64{7}, nil }
func (b *fakeBPF) Close()                { b.closed++ }

const cgroupID = 9001

// runtimeCgroup is where the fake runtime (and hook) run.
const runtimeCgroup = "/system.slice/containerd.service"

// bpfHook is f.hook with an eBPF backend whose probe verdict is status.
func bpfHook(t *testing.T, f *fake, stdin string, status probe.Status, be *fakeBPF, cgPath string) *Hook {
	t.Helper()
	h, _, _ := f.hook(stdin)
	h.Probe = func(string) (*probe.Result, error) {
		f.probed++
		return &probe.Result{Kernel: "6.1.0-57-arm64",
			Paths: map[auxv.Path]probe.PathResult{auxv.PathMap: {Status: probe.NotInherited}},
			BPF:   &probe.PathResult{Status: status, Detail: map[bool]string{true: "", false: `kernel lockdown forbids bpf_probe_write_user: lockdown is "integrity"`}[status == probe.Inherited]}}, nil
	}
	h.BPF = func() (BPFBackend, error) {
		if be == nil {
			return nil, bpf.ErrNotInstalled
		}
		return be, nil
	}
	h.Cgroup = func(p int) (*bpf.Cgroup, error) {
		if cgPath == "" {
			return nil, bpf.ErrNoCgroup
		}
		if p == os.Getpid() { // the hook's own: the runtime's cgroup
			return &bpf.Cgroup{Path: runtimeCgroup, ID: 77}, nil
		}
		id := uint64(cgroupID)
		if cgPath == "/" {
			id = 1
		}
		return &bpf.Cgroup{Path: cgPath, Dir: "/sys/fs/cgroup" + cgPath, ID: id}, nil
	}
	return h
}

func lastLog(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGuardBPF: on the eBPF backend the hook alone masks the container:
// its init's task and its cgroup; what stops it is named.
func TestGuardBPF(t *testing.T) {
	keep := hwcap.All.AndNot(hwcap.Words{1 << 22}) // deny sve
	for name, tc := range map[string]struct {
		policy   hwcap.Policy
		status   probe.Status
		mode     bpf.Mode // "" : not installed
		cgroup   string
		foreign  bool
		code     int
		decision string
		stderr   string
		masked   bool // task and cgroup registered
	}{
		"masked":           {hwcap.Enforce, probe.Inherited, bpf.ModeWrite, "/machine/ctr", false, ExitOK, "masked", "", true},
		"root cgroup":      {hwcap.Enforce, probe.Inherited, bpf.ModeWrite, "/", false, ExitRefused, "refused", "is in the root cgroup", false},
		"no cgroup v2":     {hwcap.Enforce, probe.Inherited, bpf.ModeWrite, "", false, ExitRefused, "refused", "processes that enter it later (exec) would not be masked", false},
		"foreign pid":      {hwcap.Enforce, probe.Inherited, bpf.ModeWrite, "/machine/ctr", true, ExitRefused, "refused", "not a child of the runtime running this hook", false},
		"lockdown enforce": {hwcap.Enforce, probe.Unavailable, "", "/machine/ctr", false, ExitRefused, "refused", `bpf=unavailable (kernel lockdown forbids bpf_probe_write_user: lockdown is "integrity")`, false},
		"lockdown warn":    {hwcap.Warn, probe.Unavailable, "", "/machine/ctr", false, ExitOK, "warned", "policy warn: starting it anyway", false},
		"dry-run warn":     {hwcap.Warn, probe.NotInherited, bpf.ModeDryRun, "/machine/ctr", false, ExitOK, "warned", "dry-run mode", true},
		"dry-run enforce":  {hwcap.Enforce, probe.NotInherited, bpf.ModeDryRun, "/machine/ctr", false, ExitRefused, "refused", "cannot take effect", false},
		"cannot open":      {hwcap.Enforce, probe.Inherited, "", "/machine/ctr", false, ExitRefused, "refused", "the hook cannot use it", false},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, tc.policy)
			f.foreign = tc.foreign
			f.pidWords[pid] = hostWords
			var be *fakeBPF
			if tc.mode != "" {
				be = &fakeBPF{mode: tc.mode, tasks: map[int]hwcap.Words{}, cgroups: map[uint64]hwcap.Words{}}
			}
			h := bpfHook(t, f, sample(t, samples[0], bundle(t, []string{"app"}), pid, nil), tc.status, be, tc.cgroup)
			var errb strings.Builder
			h.Stderr = &errb
			if code := h.Run([]string{StageCreateRuntime}); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errb.String())
			}
			if got := logDecisions(t, f.node.LogFile); len(got) != 1 || got[0] != StageCreateRuntime+"="+tc.decision {
				t.Fatalf("log = %v, want %s", got, tc.decision)
			}
			if !strings.Contains(errb.String(), tc.stderr) || strings.Count(errb.String(), "\n") > 1 {
				t.Errorf("stderr %q, want one line with %q", errb.String(), tc.stderr)
			}
			registered := be != nil && be.tasks[pid] == keep && be.cgroups[cgroupID] == keep
			if registered != tc.masked {
				t.Errorf("registered = %v (tasks %v cgroups %v), want %v", registered, be.tasks, be.cgroups, tc.masked)
			}
			if be != nil && be.closed == 0 && (tc.masked || tc.code == ExitRefused && tc.mode == bpf.ModeWrite && !tc.foreign) {
				t.Error("backend not closed")
			}
			if tc.decision == "masked" {
				l := lastLog(t, f.node.LogFile)
				if l["backend"] != "bpf" || l["cgroup"] != tc.cgroup || l["pid"] != float64(pid) {
					t.Errorf("log line %v: want backend bpf, cgroup %s, pid %d", l, tc.cgroup, pid)
				}
			}
		})
	}
}

// TestPoststartBPF: /proc/PID/auxv keeps the kernel's words on the eBPF
// backend; the backend's own mask for the task or its cgroup confirms.
func TestPoststartBPF(t *testing.T) {
	keep := hwcap.All.AndNot(hwcap.Words{1 << 22})
	weak := hwcap.All
	for name, tc := range map[string]struct {
		task, cgroup *hwcap.Words
		code         int
		decision     string
	}{
		"task mask":   {&keep, nil, ExitOK, "confirmed"},
		"cgroup mask": {nil, &keep, ExitOK, "confirmed"},
		"too weak":    {&weak, nil, ExitRefused, "refused"},
		"none":        {nil, nil, ExitRefused, "refused"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, hwcap.Enforce)
			f.pidWords[pid] = hostWords
			be := &fakeBPF{mode: bpf.ModeWrite, tasks: map[int]hwcap.Words{}, cgroups: map[uint64]hwcap.Words{}}
			if tc.task != nil {
				be.tasks[pid] = *tc.task
			}
			if tc.cgroup != nil {
				be.cgroups[cgroupID] = *tc.cgroup
			}
			h := bpfHook(t, f, sample(t, "state-runc-1.1.5-poststart.json", "/b", pid, nil), probe.Inherited, be, "/machine/ctr")
			if code := h.Run([]string{StagePoststart}); code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			if got := logDecisions(t, f.node.LogFile); len(got) != 1 || got[0] != "poststart="+tc.decision {
				t.Fatalf("log = %v", got)
			}
		})
	}
}

// TestPoststop: the eBPF backend's stale cgroup entries are collected when
// an annotated container is deleted; other containers cost nothing.
func TestPoststop(t *testing.T) {
	for name, tc := range map[string]struct {
		ann     map[string]string
		be      bool
		gcs     int
		logged  bool
		wantLog string
	}{
		"annotated":     {nil, true, 1, true, "poststop=collected"},
		"unannotated":   {map[string]string{"io.other": "x"}, true, 0, false, ""},
		"not installed": {nil, false, 0, false, ""},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, hwcap.Enforce)
			var be *fakeBPF
			if tc.be {
				be = &fakeBPF{mode: bpf.ModeWrite, tasks: map[int]hwcap.Words{}, cgroups: map[uint64]hwcap.Words{}}
			}
			h := bpfHook(t, f, sample(t, "state-runc-1.1.5-poststart.json", "/b", pid, tc.ann), probe.Inherited, be, "/x")
			if code := h.Run([]string{StagePoststop}); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			if be != nil && be.gcs != tc.gcs {
				t.Errorf("GC ran %d times, want %d", be.gcs, tc.gcs)
			}
			got := logDecisions(t, f.node.LogFile)
			if tc.logged != (len(got) == 1 && got[0] == tc.wantLog) || (!tc.logged && len(got) != 0) {
				t.Errorf("log = %v, want %q", got, tc.wantLog)
			}
			if f.probed != 0 {
				t.Error("poststop probed the kernel")
			}
		})
	}
}

// TestPrecreateBPF: on the eBPF backend precreate does not wrap the
// entrypoint (createRuntime masks from the host) but records the mask.
func TestPrecreateBPF(t *testing.T) {
	f := newFake(t, hwcap.Enforce)
	in := strings.Replace(podmanConfig, "%s", `{"hwcap.dev/deny":"sve"}`, 1)
	be := &fakeBPF{mode: bpf.ModeWrite, tasks: map[int]hwcap.Words{}, cgroups: map[uint64]hwcap.Words{}}
	h := bpfHook(t, f, in, probe.Inherited, be, "/x")
	var out strings.Builder
	h.Stdout = &out
	if code := h.Run([]string{StagePrecreate}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var cfg struct {
		Process     struct{ Args []string }
		Annotations map[string]string
		Mounts      []struct{ Destination string }
	}
	if err := json.Unmarshal([]byte(out.String()), &cfg); err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Process.Args, " ") != "/bin/sh -c echo hi" || len(cfg.Mounts) != 1 {
		t.Errorf("precreate changed the entrypoint or mounts on the eBPF backend: %v %v", cfg.Process.Args, cfg.Mounts)
	}
	if cfg.Annotations["hwcap.dev/effective"] != "hwcap=0xffffffffffbfffff" {
		t.Errorf("effective = %q", cfg.Annotations["hwcap.dev/effective"])
	}
	if got := logDecisions(t, f.node.LogFile); len(got) != 1 || got[0] != "precreate="+string(DecisionLeft) {
		t.Errorf("log = %v", got)
	}
}
