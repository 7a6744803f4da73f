package criuimg

import (
	"fmt"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

// TaskResult is one task's features against a host.
type TaskResult struct {
	Task *Task
	// Node is the task's features as a node (Words = its saved
	// AT_HWCAP*); nil for a task without a saved vector or of a machine
	// hwcap has no table for.
	Node *node.Node
	// Comparison of Node against the host; nil when Node is nil.
	Comparison *node.Comparison
	// Skipped says why a task is not compared ("" when it is).
	Skipped string
	// From says which copy of the task's words Node holds: "stack" (what
	// its programs saw, read from its pages) or "saved" (the kernel's
	// copy, mm_saved_auxv, when the stack could not be read: Task.StackNote).
	From string
}

// Result is the verdict of a checkpoint against a host, in the vocabulary
// of hwcapctl check (libvirt's cpu-compare): identical when every task
// was started with exactly the host's features, superset when the host
// has more, incompatible when a task was started with a feature the host
// lacks (or on another architecture).
type Result struct {
	Verdict  string
	Arch     string // the checkpoint's architecture
	HostArch string
	Tasks    []TaskResult
	// Blocking is the union of the features some task was started with
	// and the host lacks, in table order.
	Blocking []string
	// Compared counts the tasks that took part in the verdict.
	Compared int
}

// Compatible reports whether the host can restore the checkpoint without
// a task meeting a missing feature.
func (r *Result) Compatible() bool { return r.Verdict != node.Incompatible }

// Check compares every task's HWCAP words with host: the words on its
// initial stack where the checkpoint's pages hold them (what its programs
// saw, masked or not), else its saved words. A checkpoint in which no task
// has a saved AT_HWCAP cannot be judged and is an error.
func Check(cp *Checkpoint, host *node.Node) (*Result, error) {
	r := &Result{Arch: cp.Arch(), HostArch: host.Arch, Verdict: node.Identical}
	var blocking hwcap.Words
	var table *hwcap.Table
	for i := range cp.Tasks {
		t := &cp.Tasks[i]
		tr := TaskResult{Task: t}
		switch {
		case t.Auxv == nil:
			tr.Skipped = "no memory in the image (" + t.State + ")"
		case t.Arch == "":
			tr.Skipped = "machine " + t.Machine + " has no HWCAP table in hwcap"
		case !t.HasHWCAP():
			tr.Skipped = "no AT_HWCAP in its saved auxiliary vector"
		}
		if tr.Skipped != "" {
			r.Tasks = append(r.Tasks, tr)
			continue
		}
		words, from := t.Words()
		tr.From = from
		tr.Node = &node.Node{Source: t.Label(), Kind: "checkpoint", Arch: t.Arch, Words: words}
		c, err := node.Compare(tr.Node, host)
		if err != nil {
			return nil, err
		}
		tr.Comparison = c
		r.Compared++
		switch {
		case c.Verdict == node.Incompatible:
			r.Verdict = node.Incompatible
		case c.Verdict == node.Superset && r.Verdict == node.Identical:
			r.Verdict = node.Superset
		}
		if t.Arch == host.Arch {
			if table == nil {
				if table, err = tr.Node.Table(); err != nil {
					return nil, err
				}
			}
			blocking = blocking.Or(tr.Node.Words.AndNot(host.Words))
		}
		r.Tasks = append(r.Tasks, tr)
	}
	if r.Compared == 0 {
		return nil, fmt.Errorf("%w: %s: no task with a saved AT_HWCAP to compare (%d task(s), machine %v)", ErrNotCheckpoint, cp.Source, len(cp.Tasks), cp.Machines())
	}
	if table != nil {
		blocking = blocking.And(table.Known())
		r.Blocking = table.Names(blocking)
	}
	return r, nil
}
