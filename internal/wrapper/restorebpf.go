package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/logging"
)

// RestoreBackend is what a restore on the eBPF backend uses of the
// installed backend (*bpf.Backend); tests substitute their own.
type RestoreBackend interface {
	SetTask(pid int, keep hwcap.Words) (hwcap.Words, error)
	TaskMask(pid int) (hwcap.Words, bool, error)
	SetCgroup(id uint64, keep hwcap.Words) (hwcap.Words, error)
	Close()
}

// openBackend opens the eBPF backend installed under bpf.Dir().
func openBackend() (RestoreBackend, error) {
	b, err := bpf.Open(bpf.Dir())
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Decisions of the re-apply step after a restore on the eBPF backend.
const (
	decisionReapplied hwcap.Decision = "reapplied" // restored tasks (and the cgroup) carry the mask
)

// maxRestoredTasks bounds the walk of the restored process tree.
const maxRestoredTasks = 1 << 16

// reapplyAfterRestore reports whether this restore must run the real
// runtime as a child and re-apply the mask once it returns: the eBPF
// backend masked this process (BPF state is not checkpointed, so the
// restored container's tasks and cgroup have no mask of their own) and
// the restore is detached (the runtime returns once the container runs;
// a restore in the foreground returns only when the container ends, so
// the wrapper execs it, and the restored tasks carry the mask only by
// inheriting it from this process).
func (w *Wrapper) reapplyAfterRestore() bool {
	return w.inv.Command == CmdRestore && w.inv.Detach && w.masked != nil && w.rec != nil &&
		w.masked.Backend == enforce.BackendBPF && !w.masked.ByHost
}

// restoreBPF runs the real runtime's restore as a child, then gives every
// restored task (the container's init and its descendants) the
// container's mask in the eBPF backend's task storage and registers the
// container's cgroup, so that what the restored processes exec, and what
// enters the container later, is masked as before the checkpoint. A task
// that cannot be masked fails the restore under enforce: the container is
// deleted (`delete --force`) and the wrapper exits 1 with one line; under
// warn it runs, logged. A container without a cgroup v2 of its own (the
// root cgroup, or the wrapper's own) keeps its tasks' masks and is noted.
func (w *Wrapper) restoreBPF(rec *Record) error {
	if w.Spawn == nil {
		w.Spawn = spawn
	}
	if w.BPF == nil {
		w.BPF = openBackend
	}
	if w.Cgroup == nil {
		w.Cgroup = bpf.CgroupOf
	}
	argv := append([]string{w.runtime}, w.inv.Args...)
	code, err := w.Spawn(w.runtime, argv, w.Environ)
	if err != nil {
		return &execError{path: w.runtime, err: err}
	}
	if code != 0 {
		return runtimeStatus(code)
	}
	id := rec.ID
	fields, err := w.reapply(rec)
	r := logging.Record{Container: id, Mask: rec.Mask.Keep.String(), Policy: string(rec.Mask.Policy), Fields: fields}
	r.Fields[enforce.FieldBackend] = enforce.BackendBPF
	if err == nil {
		r.Decision = decisionReapplied
		w.nodeRecord(r)
		return nil
	}
	err = fmt.Errorf("container %s: restored, but the eBPF backend cannot mask its tasks again: %w", id, err)
	if rec.Mask.Policy == hwcap.Warn {
		r.Decision, r.Reason = hwcap.DecisionWarned, err.Error()
		w.nodeRecord(r)
		w.logf(LevelWarn, "%v; policy warn: it runs, and what it execs is not masked", err)
		return nil
	}
	r.Decision, r.Err = hwcap.DecisionRefused, err
	w.nodeRecord(r)
	if res := w.runtimeCmd("delete", "--force", id); res != nil {
		err = fmt.Errorf("%w; deleting it failed too: %w", err, res)
	}
	return decided{fmt.Errorf("refusing restore under policy enforce: %w (deleted it)", err)}
}

// reapply masks the restored tasks and registers their cgroup.
func (w *Wrapper) reapply(rec *Record) (logrus.Fields, error) {
	fields := logrus.Fields{}
	pid, err := w.statePID(rec.ID)
	if err != nil {
		return fields, err
	}
	fields["pid"] = pid
	b, err := w.BPF()
	if err != nil {
		return fields, fmt.Errorf("open the eBPF backend: %w", err)
	}
	defer b.Close()
	tasks, err := descendants(pid, maxRestoredTasks)
	if err != nil {
		return fields, err
	}
	for _, p := range tasks {
		if _, err := b.SetTask(p, rec.Mask.Keep); err != nil {
			if p != pid && errors.Is(err, os.ErrNotExist) {
				continue // exited since the walk
			}
			return fields, err
		}
	}
	fields["tasks"] = len(tasks)
	keep, ok, err := b.TaskMask(pid)
	if err != nil {
		return fields, fmt.Errorf("the restored init (pid %d): read its mask back: %w", pid, err)
	}
	if !ok || !keep.SubsetOf(rec.Mask.Keep) {
		return fields, fmt.Errorf("the restored init (pid %d) does not carry the mask (%s, present %v)", pid, keep, ok)
	}
	cg, err := w.Cgroup(pid)
	if err != nil {
		fields["cgroup"] = "none: " + err.Error()
		return fields, nil
	}
	if why := sharedCgroup(cg, w.Cgroup); why != "" {
		fields["cgroup"] = "none: " + why
		return fields, nil
	}
	eff, err := b.SetCgroup(cg.ID, rec.Mask.Keep)
	if err != nil {
		return fields, fmt.Errorf("register cgroup %s: %w", cg.Path, err)
	}
	fields["cgroup"], fields["cgroupID"] = cg.Path, cg.ID
	if eff != rec.Mask.Keep {
		fields["cgroupMask"] = eff.String()
	}
	return fields, nil
}

// sharedCgroup says why cg cannot carry the container's mask: the root
// cgroup, or one that holds this process too (a runtime that made no
// cgroup v2 of its own for the container), where a mask would reach
// processes outside the container. "" when it can.
func sharedCgroup(cg *bpf.Cgroup, cgroupOf func(int) (*bpf.Cgroup, error)) string {
	if cg.Path == "/" || cg.ID <= 1 {
		return "the container is in the root cgroup"
	}
	if self, err := cgroupOf(os.Getpid()); err == nil && (self.ID == cg.ID || strings.HasPrefix(self.Path+"/", cg.Path+"/")) {
		return fmt.Sprintf("cgroup %s also holds hwcap-runtime (the runtime made no cgroup v2 of its own for the container)", cg.Path)
	}
	return ""
}

// statePID asks the runtime for the container's init pid.
func (w *Wrapper) statePID(id string) (int, error) {
	out, err := w.state(id)
	if err != nil {
		return 0, err
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 0 {
		return 0, fmt.Errorf("%s state %s printed no pid", w.runtime, id)
	}
	return st.Pid, nil
}

// runtimeCmd runs "<runtime> [--root R] ARGS..." under the state
// deadline; nil when it succeeds.
func (w *Wrapper) runtimeCmd(args ...string) error {
	_, errOut, err := w.runRuntime(args...)
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", w.runtime, strings.Join(args, " "), err, lastLine(errOut))
	}
	return nil
}

// descendants returns pid and every process below it (through
// /proc/PID/task/TID/children), at most limit of them.
func descendants(pid, limit int) ([]int, error) {
	out := []int{pid}
	seen := map[int]bool{pid: true}
	for i := 0; i < len(out); i++ {
		p := strconv.Itoa(out[i])
		tids, err := os.ReadDir("/proc/" + p + "/task")
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("restored init (pid %d): %w", pid, err)
			}
			continue // exited since
		}
		for _, t := range tids {
			data, err := os.ReadFile("/proc/" + p + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(data)) {
				c, err := strconv.Atoi(f)
				if err != nil || seen[c] {
					continue
				}
				if len(out) >= limit {
					return nil, fmt.Errorf("restored container (init pid %d) has more than %d processes", pid, limit)
				}
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}
