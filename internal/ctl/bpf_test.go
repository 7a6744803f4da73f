package ctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/testutil"
)

// TestBPFInstallRefused: on a kernel where the backend cannot work
// (this project's development machine: lockdown integrity), install says
// why in one line and exits 1; status and probe show the same cause.
func TestBPFInstallRefused(t *testing.T) {
	lvl := testutil.Lockdown(t)
	if lvl == "none" {
		testutil.Skip(t, "kernel not locked down: test/bpf/vm-check.sh --lockdown shows the refusal")
	}
	dir := testutil.BPFFS(t)
	r := mustRun(t, ExitFail, "bpf", "install", "--dir", dir)
	want := `hwcapctl bpf: install: kernel lockdown forbids bpf_probe_write_user: lockdown is "` + lvl + `"`
	if !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
		t.Errorf("stderr %q, want one line starting %q", r.stderr, want)
	}
	st := mustRun(t, ExitOK, "bpf", "status", "--dir", dir)
	if !strings.Contains(st.stdout, "backend:  not installed") || !strings.Contains(st.stdout, "lockdown "+lvl+",") || !strings.Contains(st.stdout, "problem:  kernel lockdown forbids") {
		t.Errorf("status:\n%s", st.stdout)
	}
	t.Setenv("HWCAP_BPF_DIR", dir)
	p := mustRun(t, ExitOK, "probe", "--fresh")
	if !strings.Contains(p.stdout, "path bpf   unavailable (kernel lockdown forbids bpf_probe_write_user") || !strings.Contains(p.stdout, "(backend none:") {
		t.Errorf("probe:\n%s", p.stdout)
	}
	var rep struct {
		Backend string                       `json:"backend"`
		Paths   map[string]map[string]string `json:"paths"`
	}
	j := mustRun(t, ExitOK, "probe", "--fresh", "--json")
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil || rep.Backend != "none" || rep.Paths["bpf"]["status"] != "unavailable" {
		t.Errorf("probe --json: %v %+v", err, rep)
	}
}

// TestBPFDryRunCommands: install --dry-run (loads under lockdown) is
// idempotent, status shows it, gc and remove clean up; bad usage is exit 2.
func TestBPFDryRunCommands(t *testing.T) {
	dir := testutil.BPFFS(t)
	r := mustRun(t, ExitOK, "bpf", "install", "--dry-run", "--dir", dir)
	if !strings.HasPrefix(r.stdout, "installed: dry-run mode, pinned under "+dir+" (hwcap_exec_dry tag ") {
		t.Errorf("install: %q", r.stdout)
	}
	if r = mustRun(t, ExitOK, "bpf", "install", "--dry-run", "--dir", dir); !strings.HasPrefix(r.stdout, "unchanged: dry-run mode") {
		t.Errorf("second install: %q", r.stdout)
	}
	st := mustRun(t, ExitOK, "bpf", "status", "--dir", dir)
	for _, want := range []string{"backend:  installed, dry-run mode", "program:  hwcap_exec_dry id ", "program:  hwcap_fork_dry id ", "tasks:    0 masked", "cgroups:  0 masked", "counters: exec-masked="} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, st.stdout)
		}
	}
	if r = mustRun(t, ExitOK, "bpf", "gc", "--dir", dir); r.stdout != "removed 0 stale cgroup entries\n" {
		t.Errorf("gc: %q", r.stdout)
	}
	if r = mustRun(t, ExitOK, "bpf", "remove", "--dir", dir); !strings.HasPrefix(r.stdout, "removed from "+dir+": link_exec link_fork task_mask cgroup_mask stats seen") {
		t.Errorf("remove: %q", r.stdout)
	}
	if r = mustRun(t, ExitOK, "bpf", "remove", "--dir", dir); r.stdout != "nothing installed under "+dir+"\n" {
		t.Errorf("second remove: %q", r.stdout)
	}
	if r = mustRun(t, ExitFail, "bpf", "gc", "--dir", dir); !strings.Contains(r.stderr, "BPF backend not installed") {
		t.Errorf("gc without a backend: %q", r.stderr)
	}
	mustRun(t, ExitUsage, "bpf")
	mustRun(t, ExitUsage, "bpf", "frob")
	mustRun(t, ExitUsage, "bpf", "status", "extra")
	mustRun(t, ExitUsage, "bpf", "remove", "--dry-run")
}
