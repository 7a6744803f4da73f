package hook

import (
	"fmt"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/spec"
)

// BPFBackend is what the hook uses of an installed eBPF backend
// (*bpf.Backend); tests substitute their own.
type BPFBackend interface {
	Mode() bpf.Mode
	SetTask(pid int, keep hwcap.Words) (hwcap.Words, error)
	TaskMask(pid int) (hwcap.Words, bool, error)
	SetCgroup(id uint64, keep hwcap.Words) (hwcap.Words, error)
	CgroupMask(id uint64) (hwcap.Words, bool, error)
	GC() ([]uint64, error)
	Close()
}

// openBPF opens the backend installed under bpf.Dir().
func openBPF() (BPFBackend, error) {
	b, err := bpf.Open(bpf.Dir())
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Decisions of the bpf backend's stages.
const (
	DecisionCollected hwcap.Decision = "collected"             // poststop: stale cgroup entries removed
	DecisionLeft      hwcap.Decision = "left-to-createRuntime" // precreate on the eBPF backend: no shim needed
)

func (r *run) field(k string, v any) {
	if r.rec.Fields == nil {
		r.rec.Fields = logrus.Fields{}
	}
	r.rec.Fields[k] = v
}

// bpfGuard is the guard on the eBPF backend: the hook itself masks the
// container. The waiting init (state.pid) gets the mask in its task
// storage, so its exec of the entrypoint and every descendant are masked,
// and the container's cgroup gets it too, so processes that enter the
// container later (runc exec, crun exec, podman exec, kubectl exec) are
// masked at their exec. done is false when the backend does not apply
// (not installed, or the series already works): the guard goes on.
func (r *run) bpfGuard(st *spec.State, m *mask, pr *probe.Result) (code int, done bool) {
	if r.h.BPF == nil {
		return 0, false
	}
	if !pr.BPFWorks() {
		return r.bpfDryRun(st, m)
	}
	r.field(enforce.FieldBackend, string(enforce.BackendBPF))
	if st.Pid <= 0 {
		return r.refuse(m, "the eBPF backend masks the container's init, and the state has no pid"), true
	}
	if err := r.ownInit(st.Pid); err != nil {
		return r.refuse(m, err.Error()), true
	}
	b, err := r.h.BPF()
	if err != nil {
		return r.refuse(m, fmt.Sprintf("the eBPF backend works on this kernel but the hook cannot use it: %v", err)), true
	}
	defer b.Close()
	if err := r.bpfRegister(b, st.Pid, m); err != nil {
		return r.refuse(m, err.Error()), true
	}
	return r.finish(ExitOK, hwcap.DecisionMasked, nil), true
}

// bpfDryRun: a backend installed in dry-run mode records what it would
// mask. Under warn the container runs (unmasked, as it would anyway) and
// is registered so that the backend's counters and records show it; under
// enforce the guard goes on to refuse.
func (r *run) bpfDryRun(st *spec.State, m *mask) (int, bool) {
	if m.req.Policy != hwcap.Warn || st.Pid <= 0 || r.ownInit(st.Pid) != nil {
		return 0, false
	}
	b, err := r.h.BPF()
	if err != nil {
		return 0, false
	}
	defer b.Close()
	if b.Mode() != bpf.ModeDryRun {
		return 0, false
	}
	r.field(enforce.FieldBackend, string(enforce.BackendNone))
	why := "the eBPF backend is installed in dry-run mode (it records what it would mask and changes nothing)"
	if err := r.bpfRegister(b, st.Pid, m); err != nil {
		why += "; registering the container failed: " + err.Error()
	}
	r.rec.Reason = m.describe() + " cannot take effect: " + why
	return r.finish(ExitOK, hwcap.DecisionWarned, nil), true
}

// bpfRegister masks task pid and its cgroup. A container whose cgroup
// cannot be told apart (no cgroup v2 hierarchy, or the root cgroup) is an
// error: its init would be masked but not what enters it later.
func (r *run) bpfRegister(b BPFBackend, pid int, m *mask) error {
	cg, err := r.h.Cgroup(pid)
	if err != nil {
		return fmt.Errorf("cannot find the container's cgroup, so processes that enter it later (exec) would not be masked: %w", err)
	}
	if cg.Path == "/" || cg.ID <= 1 {
		return fmt.Errorf("the container's init (pid %d) is in the root cgroup, which cannot carry a mask without masking every process on the node", pid)
	}
	// A runtime that put the container in no cgroup v2 of its own (cgroup
	// v1 only, on a hybrid host) leaves it in the runtime's, which holds
	// this hook too: a mask there would reach processes outside the
	// container.
	if self, err := r.h.Cgroup(os.Getpid()); err == nil && (self.ID == cg.ID || strings.HasPrefix(self.Path+"/", cg.Path+"/")) {
		return fmt.Errorf("the container's init (pid %d) is in cgroup %s, which also holds the runtime and this hook (the runtime made no cgroup v2 of its own for it), so it cannot carry a mask without masking processes outside the container", pid, cg.Path)
	}
	if _, err := b.SetTask(pid, m.keep); err != nil {
		return fmt.Errorf("eBPF backend: %w", err)
	}
	eff, err := b.SetCgroup(cg.ID, m.keep)
	if err != nil {
		return fmt.Errorf("eBPF backend: %w", err)
	}
	r.field("pid", pid)
	r.field("cgroup", cg.Path)
	r.field("cgroupID", cg.ID)
	if eff != m.keep {
		r.field("cgroupMask", eff.String()) // stricter: an earlier registration
	}
	return nil
}

// bpfConfirms reports whether the eBPF backend holds a mask for pid (its
// own, or its cgroup's) that hides everything m hides: poststart cannot
// see it in /proc/PID/auxv, which keeps the kernel's words.
func (r *run) bpfConfirms(pid int, m *mask) bool {
	if r.h.BPF == nil {
		return false
	}
	b, err := r.h.BPF()
	if err != nil {
		return false
	}
	defer b.Close()
	if b.Mode() != bpf.ModeWrite {
		return false
	}
	covers := func(keep hwcap.Words) bool { return keep.And(m.hidden).IsZero() }
	if keep, ok, err := b.TaskMask(pid); err == nil && ok && covers(keep) {
		r.field(enforce.FieldBackend, string(enforce.BackendBPF))
		return true
	}
	if cg, err := r.h.Cgroup(pid); err == nil {
		if keep, ok, err := b.CgroupMask(cg.ID); err == nil && ok && covers(keep) {
			r.field(enforce.FieldBackend, string(enforce.BackendBPF))
			r.field("cgroup", cg.Path)
			return true
		}
	}
	return false
}

// poststop runs when the runtime deletes the container (its cgroup is
// gone by then): the eBPF backend's entries of cgroups that no longer
// exist are removed, this container's among them. Nothing here can fail
// the delete: problems are logged.
func (r *run) poststop() int {
	st, err := spec.ReadState(r.h.Stdin)
	if err != nil {
		r.h.printf("%s: %v", r.stage, err)
		return ExitInvalid
	}
	if r.h.BPF == nil || !config.HasAnnotations(st.Annotations) {
		return ExitOK
	}
	b, err := r.h.BPF()
	if err != nil {
		return ExitOK // not installed: nothing to collect
	}
	defer b.Close()
	if err := r.setup(st.ID); err != nil {
		return r.invalid(err)
	}
	gone, err := b.GC()
	r.field("removed", len(gone))
	if err != nil {
		r.rec.Reason = "collect stale cgroup entries: " + err.Error()
		return r.finish(ExitOK, hwcap.DecisionFailed, nil)
	}
	return r.finish(ExitOK, DecisionCollected, nil)
}
