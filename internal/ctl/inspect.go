package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/probe"
)

// runtimeTimeout bounds `runc state`.
const runtimeTimeout = 10 * time.Second

// maxContainerID matches runc's practical limit and keeps errors short.
const maxContainerID = 1024

var errExtraFeatures = errors.New("process has features this host lacks")

type inspectReport struct {
	PID       int               `json:"pid"`
	Container string            `json:"container,omitempty"`
	Runtime   string            `json:"runtime,omitempty"`
	Arch      string            `json:"arch"`
	Words     map[string]string `json:"words"`
	Host      map[string]string `json:"host"`
	Masked    bool              `json:"masked"`
	Hidden    []string          `json:"hidden"`
	Extra     []string          `json:"extra"`
	Inherit   string            `json:"inherit"`
	// From is where Words come from: "stack" (the process's initial
	// stack, what its programs saw) or "saved" (/proc/PID/auxv, the
	// kernel's copy); they differ where hwcap's eBPF backend masked it.
	From       string            `json:"from"`
	SavedWords map[string]string `json:"savedWords,omitempty"`
	StackNote  string            `json:"stackNote,omitempty"`
}

func runInspect(e *env, args []string) error {
	fs := newFlags(e, "inspect")
	ctr := fs.String("container", "", "inspect the init process of container `ID` (asks the runtime for its pid)")
	rt := fs.String("runtime", "runc", "the container's `runtime`: runc or crun")
	root := fs.String("root", "", "the runtime's state `DIR` (its --root; default: the runtime's own)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	rep := inspectReport{}
	switch {
	case *ctr != "" && len(pos) > 0:
		return usagef("give a PID or --container ID, not both")
	case *ctr != "":
		pid, err := containerPID(*rt, *root, *ctr)
		if err != nil {
			return err
		}
		rep.PID, rep.Container, rep.Runtime = pid, *ctr, *rt
	case len(pos) == 1:
		pid, err := strconv.Atoi(pos[0])
		if err != nil || pid <= 0 {
			return usagef("PID %q is not a positive number (want e.g. hwcapctl inspect 1234, or --container ID)", pos[0])
		}
		rep.PID = pid
	default:
		return usagef("want one PID or --container ID")
	}
	v, err := auxv.ReadPID(rep.PID)
	if err != nil {
		return fmt.Errorf("inspect pid %d: %w", rep.PID, err)
	}
	host, err := node.Host()
	if err != nil {
		return err
	}
	t, err := host.Table()
	if err != nil {
		return err
	}
	words := v.HWCAPs()
	rep.From = "saved"
	// The eBPF backend masks the words on the process's stack and cannot
	// change /proc/PID/auxv: what the process saw is on its stack.
	if sv, err := auxv.ReadPIDStack(rep.PID); err != nil {
		rep.StackNote = err.Error()
	} else if sw := sv.HWCAPs(); sw != words && sw.SubsetOf(words) {
		rep.From, rep.SavedWords = "stack", hexWords(words)
		words = sw
	}
	rep.Arch = t.Arch
	rep.Words, rep.Host = hexWords(words), hexWords(host.Words)
	rep.Hidden = nonNil(t.Missing(host.Words, words))
	rep.Extra = nonNil(t.Missing(words, host.Words))
	// Masked: a strict subset of the host's words.
	rep.Masked = words.SubsetOf(host.Words) && words != host.Words
	rep.Inherit = inheritState(rep.PID)

	if *asJSON {
		err = writeJSON(e.stdout, rep)
	} else {
		w := e.stdout
		who := "pid " + strconv.Itoa(rep.PID)
		if rep.Container != "" {
			who = "container " + rep.Container + " (" + rep.Runtime + ", init " + who + ")"
		}
		fmt.Fprintf(w, "%s on %s:\n", who, t.Arch)
		printWords(w, t, words, "  ")
		if rep.From == "stack" {
			fmt.Fprintf(w, "(words on its initial stack, masked by hwcap's eBPF backend; /proc/%d/auxv keeps the kernel's %s)\n", rep.PID, v.HWCAPs())
		}
		switch {
		case rep.Masked:
			fmt.Fprintf(w, "masked: yes, hides %d of the host's features: %s\n", len(rep.Hidden), list(rep.Hidden))
			fmt.Fprintf(w, "children: %s\n", rep.Inherit)
		case len(rep.Extra) == 0:
			fmt.Fprintf(w, "masked: no (the host's features, %s)\n", host.Words)
		}
		if len(rep.Extra) > 0 {
			fmt.Fprintf(w, "WARNING: the process claims %d feature(s) this host lacks: %s (restored from another CPU? using them raises SIGILL)\n", len(rep.Extra), list(rep.Extra))
		}
	}
	if err != nil {
		return err
	}
	if len(rep.Extra) > 0 {
		return fmt.Errorf("%w: %s", errExtraFeatures, strings.Join(rep.Extra, " "))
	}
	return nil
}

// inheritState reports the cached probe verdict without probing: whether
// the masked process's children get the mask too.
func inheritState(pid int) string {
	if b, err := bpf.Open(bpf.Dir()); err == nil {
		defer b.Close()
		if m, ok, err := b.TaskMask(pid); err == nil && ok && b.Mode() == bpf.ModeWrite {
			return "inherit the mask " + m.String() + " through the eBPF backend (the process's own)"
		}
		if cg, err := bpf.CgroupOf(pid); err == nil {
			if m, ok, err := b.CgroupMask(cg.ID); err == nil && ok && b.Mode() == bpf.ModeWrite {
				return "inherit the mask " + m.String() + " through the eBPF backend while in cgroup " + cg.Path
			}
		}
	}
	r, err := probe.Peek(probe.Dir())
	if err != nil {
		return "unknown (no probe result for this boot: run hwcapctl probe)"
	}
	if r.Inherits(auxv.Paths...) {
		return "inherit the mask (" + r.Summary() + ")"
	}
	return "do NOT inherit the mask on this kernel (" + r.Summary() + ")"
}

// containerPID asks the runtime for the container's init pid.
func containerPID(runtime, root, id string) (int, error) {
	if runtime != "runc" && runtime != "crun" {
		return 0, usagef("--runtime %q (want runc or crun)", runtime)
	}
	if err := checkContainerID(id); err != nil {
		return 0, err
	}
	bin, err := exec.LookPath(runtime)
	if err != nil {
		return 0, fmt.Errorf("--runtime %s: %w (install it or put it on PATH)", runtime, err)
	}
	if root != "" && !filepath.IsAbs(root) {
		return 0, usagef("--root %q is not an absolute path (want the runtime's state directory, e.g. /run/runc)", root)
	}
	var argv []string
	if root != "" {
		argv = append(argv, "--root", root)
	}
	argv = append(argv, "state", id)
	ctx, cancel := context.WithTimeout(context.Background(), runtimeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return 0, fmt.Errorf("%s state %s: %w: %s", runtime, id, err, oneLine(msg))
	}
	var st struct {
		ID     string `json:"id"`
		Pid    int    `json:"pid"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return 0, fmt.Errorf("%s state %s: unreadable output: %w", runtime, id, err)
	}
	if st.Pid <= 0 || st.Status == "stopped" {
		return 0, fmt.Errorf("container %s is %s (no running process to inspect)", id, st.Status)
	}
	return st.Pid, nil
}

// checkContainerID accepts what runc accepts (letters, digits, _ + - .),
// and refuses a leading '-' that the runtime would read as a flag.
func checkContainerID(id string) error {
	if id == "" || len(id) > maxContainerID {
		return usagef("container ID must be 1-%d characters", maxContainerID)
	}
	if id[0] == '-' || id == "." || id == ".." {
		return usagef("container ID %q is not valid (want letters, digits, _ + - .; not starting with -)", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_+-.", c)) {
			return usagef("container ID %q has character %q (want letters, digits, _ + - .)", id, c)
		}
	}
	return nil
}
