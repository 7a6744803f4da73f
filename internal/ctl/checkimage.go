package ctl

import (
	"fmt"
	"io"
	"slices"

	"github.com/hwcap/hwcap/internal/criuimg"
	"github.com/hwcap/hwcap/internal/node"
)

type checkImageTask struct {
	PID     uint32            `json:"pid"`
	PPID    uint32            `json:"ppid"`
	Comm    string            `json:"comm"`
	State   string            `json:"state"`
	Machine string            `json:"machine"`
	Verdict string            `json:"verdict,omitempty"` // "" when skipped
	Skipped string            `json:"skipped,omitempty"`
	Words   map[string]string `json:"words,omitempty"`
	// From is where Words come from: "stack" (the task's initial stack,
	// what its programs saw) or "saved" (the kernel's copy, CRIU's
	// mm_saved_auxv); StackNote says why the stack could not be read.
	From       string            `json:"from,omitempty"`
	SavedWords map[string]string `json:"savedWords,omitempty"`
	StackNote  string            `json:"stackNote,omitempty"`
	// MaskedOnStack: the stack shows fewer features than the saved copy
	// (hwcap's eBPF backend masked the task).
	MaskedOnStack bool     `json:"maskedOnStack,omitempty"`
	Features      []string `json:"features"`
	Missing       []string `json:"missing"`
	Extra         []string `json:"extra"`
}

type checkImageReport struct {
	Verdict  string           `json:"verdict"`
	Image    string           `json:"image"`
	Format   string           `json:"format"`
	Arch     string           `json:"arch"`
	Host     string           `json:"host"`
	HostArch string           `json:"hostArch"`
	Blocking []string         `json:"blocking"`
	Tasks    []checkImageTask `json:"tasks"`
}

func runCheckImage(e *env, args []string) error {
	fs := newFlags(e, "check-image")
	hostFile := fs.String("host", "", "check against the node described in `FILE` (anything baseline reads) instead of this host")
	var nodesFiles stringList
	fs.Var(&nodesFiles, "nodes", "check against every node in `FILE` (kubectl get nodes -o json, or anything baseline reads; repeatable): which of them can restore it")
	asJSON := fs.Bool("json", false, "print the verdict and every task as JSON")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one CRIU image directory or checkpoint archive (tar, tar.gz or tar.zst with checkpoint/), got %d arguments", len(pos))
	}
	if *hostFile != "" && len(nodesFiles) > 0 {
		return usagef("--host and --nodes exclude each other (--host: one node; --nodes: which of several)")
	}
	if pos[0] == "-" && (*hostFile == "-" || slices.Contains(nodesFiles, "-")) {
		return usagef("the archive and --host/--nodes cannot both read stdin")
	}
	if len(nodesFiles) > 0 {
		return checkImageNodes(e, pos[0], nodesFiles, *asJSON)
	}
	host, err := nodeOrHost(e, *hostFile)
	if err != nil {
		return err
	}
	cp, err := criuimg.Open(pos[0], e.stdin, criuimg.Limits{})
	if err != nil {
		return err
	}
	r, err := criuimg.Check(cp, host)
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeJSON(e.stdout, checkImageJSON(cp, host, r))
	} else {
		printCheckImage(e.stdout, cp, host, r)
	}
	if err != nil {
		return err
	}
	if !r.Compatible() {
		return errIncompatible
	}
	return nil
}

func checkImageJSON(cp *criuimg.Checkpoint, host *node.Node, r *criuimg.Result) checkImageReport {
	rep := checkImageReport{Verdict: r.Verdict, Image: cp.Source, Format: cp.Format, Arch: r.Arch,
		Host: host.Source, HostArch: r.HostArch, Blocking: nonNil(r.Blocking), Tasks: []checkImageTask{}}
	for _, tr := range r.Tasks {
		t := tr.Task
		jt := checkImageTask{PID: t.PID, PPID: t.PPID, Comm: t.Comm, State: t.State, Machine: t.Machine,
			Skipped: tr.Skipped, Features: []string{}, Missing: []string{}, Extra: []string{}}
		if tr.Node != nil {
			jt.Verdict = tr.Comparison.Verdict
			jt.Words = hexWords(tr.Node.Words)
			jt.From, jt.StackNote, jt.MaskedOnStack = tr.From, t.StackNote, t.MaskedOnStack()
			if jt.MaskedOnStack {
				jt.SavedWords = hexWords(t.Auxv.HWCAPs())
			}
			jt.Features = nonNil(tr.Node.Names())
			jt.Missing = nonNil(tr.Comparison.Blocking)
			jt.Extra = nonNil(tr.Comparison.Extra)
		}
		rep.Tasks = append(rep.Tasks, jt)
	}
	return rep
}

func printCheckImage(w io.Writer, cp *criuimg.Checkpoint, host *node.Node, r *criuimg.Result) {
	fmt.Fprintf(w, "checkpoint %s (%s, %d task(s), %s)\n", cp.Source, cp.Format, len(cp.Tasks), r.Arch)
	for _, tr := range r.Tasks {
		t := tr.Task
		if tr.Node == nil {
			fmt.Fprintf(w, "  %s: not compared: %s\n", t.Label(), tr.Skipped)
			continue
		}
		c := tr.Comparison
		fmt.Fprintf(w, "  %s: %s; started with %s\n", t.Label(), c.Verdict, tr.Node.Words)
		switch {
		case t.MaskedOnStack():
			fmt.Fprintf(w, "      words from its initial stack, masked by hwcap's eBPF backend (the kernel's copy, which CRIU saved, has %s)\n", t.Auxv.HWCAPs())
		case tr.From == "saved" && t.StackNote != "":
			fmt.Fprintf(w, "      words from CRIU's saved copy: its initial stack cannot be read (%s); had hwcap's eBPF backend masked it, it saw fewer\n", t.StackNote)
		}
		fmt.Fprintf(w, "      features: %s\n", list(tr.Node.Names()))
		if len(c.Blocking) > 0 {
			fmt.Fprintf(w, "      missing here: %s\n", list(c.Blocking))
		}
	}
	for _, t := range cp.Tasks {
		if t.MaskedOnStack() {
			fmt.Fprintln(w, "note: BPF state is not in a checkpoint: restore it with hwcap-runtime (or with hwcap-hook in the container's hooks) on a node with the eBPF backend, so that what it starts after the restore is masked too")
			break
		}
	}
	switch {
	case r.Arch != r.HostArch:
		fmt.Fprintf(w, "%s: the checkpoint is for %s, %s is %s\n", r.Verdict, r.Arch, host.Label(), r.HostArch)
	case r.Verdict == node.Incompatible:
		fmt.Fprintf(w, "%s: %s lacks %d feature(s) the checkpointed tasks were started with: %s\n", r.Verdict, host.Label(), len(r.Blocking), list(r.Blocking))
		fmt.Fprintf(w, "  a restored task that uses them gets SIGILL; checkpoint under a profile from hwcapctl baseline over every node it may be restored on\n")
	case r.Verdict == node.Superset:
		fmt.Fprintf(w, "%s: %s has every feature the %d checked task(s) were started with, and more\n", r.Verdict, host.Label(), r.Compared)
	default:
		fmt.Fprintf(w, "%s: %s has exactly the features the %d checked task(s) were started with\n", r.Verdict, host.Label(), r.Compared)
	}
}

// checkImageNodesReport is check-image --nodes --json.
type checkImageNodesReport struct {
	Image      string        `json:"image"`
	Format     string        `json:"format"`
	Arch       string        `json:"arch"`
	Restorable int           `json:"restorable"`
	Nodes      []nodeVerdict `json:"nodes"`
}

// checkImageNodes answers "where can this checkpoint be restored": one
// verdict per node. Exit 0 when at least one node can, 1 when none.
func checkImageNodes(e *env, image string, files []string, asJSON bool) error {
	nodes, err := readAllInputs(e, files)
	if err != nil {
		return err
	}
	warnUnknown(e, nodes...)
	cp, err := criuimg.Open(image, e.stdin, criuimg.Limits{})
	if err != nil {
		return err
	}
	rep := checkImageNodesReport{Image: cp.Source, Format: cp.Format, Nodes: []nodeVerdict{}}
	for _, n := range nodes {
		r, err := criuimg.Check(cp, n)
		if err != nil {
			return err
		}
		rep.Arch = r.Arch
		if r.Compatible() {
			rep.Restorable++
		}
		rep.Nodes = append(rep.Nodes, newNodeVerdict(n, r.Verdict, r.Blocking, r.Arch, r.HostArch))
	}
	if asJSON {
		err = writeJSON(e.stdout, rep)
	} else {
		fmt.Fprintf(e.stdout, "checkpoint %s (%s, %d task(s), %s)\n", cp.Source, cp.Format, len(cp.Tasks), rep.Arch)
		printVerdicts(e.stdout, rep.Nodes)
		fmt.Fprintf(e.stdout, "restorable on %d of %d node(s)\n", rep.Restorable, len(rep.Nodes))
	}
	if err != nil {
		return err
	}
	if rep.Restorable == 0 {
		return errIncompatible
	}
	return nil
}
