package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// PathBPF names the eBPF backend in reports and logs, next to the prctl
// paths (auxv, map).
const PathBPF = "bpf"

// Marker argv[0] values of the bpf probe's re-executions.
const (
	argv0BPFApply  = ChildPrefix + "probe-bpf-apply"
	argv0BPFReport = ChildPrefix + "probe-bpf-report"
)

// BPFWorks reports whether the eBPF backend is installed here and a child
// of a process it masked saw the mask on its initial stack.
func (r *Result) BPFWorks() bool { return r.BPF != nil && r.BPF.Status == Inherited }

// bpfStamp identifies the backend's installation under dir: its pinned
// exec link's inode and change time. An install, upgrade or remove
// changes it, so a cached bpf verdict is trusted only with the same stamp
// (the prctl verdicts depend on the kernel alone, the bpf one also on
// what was installed since boot).
func bpfStamp(dir string) string {
	var st unix.Stat_t
	if err := unix.Lstat(dir+"/link_exec", &st); err != nil {
		return dir + "|absent"
	}
	return fmt.Sprintf("%s|%d:%d.%d", dir, st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}

// runBPF probes the eBPF backend under dir: without an exec when it is
// not installed (the verdict then says why it could not be), else by a
// child that masks itself through the backend and starts a reporter, which
// reads its own initial stack.
func runBPF(dir string) (*PathResult, error) {
	b, err := bpf.Open(dir)
	if errors.Is(err, bpf.ErrNotInstalled) {
		// Why it could not be installed here, when that is the node's
		// kernel (lockdown, BTF, ...); the prober's own capabilities
		// are not the node's and would mislead the next reader.
		if cerr := bpf.Check(dir, bpf.ModeWrite); cerr != nil && !errors.Is(cerr, bpf.ErrCapability) {
			return &PathResult{Status: Unavailable, Detail: cerr.Error()}, nil
		}
		return &PathResult{Status: Unavailable, Detail: "not installed (hwcapctl bpf install)"}, nil
	}
	if err != nil {
		return &PathResult{Status: Unavailable, Detail: err.Error()}, nil
	}
	mode := b.Mode()
	b.Close()
	if mode != bpf.ModeWrite {
		return &PathResult{Status: NotInherited, Detail: fmt.Sprintf("installed in %s mode at %s: it records what it would mask, and masks nothing", mode, dir)}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{argv0BPFApply, dir}
	cmd.Env = []string{}
	cmd.Dir = "/"
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: path %s: %w: %s", ErrProbe, PathBPF, err, strings.TrimSpace(stderr.String()))
	}
	var pr PathResult
	if err := json.Unmarshal(out.Bytes(), &pr); err != nil {
		return nil, fmt.Errorf("%w: path %s: bad child output %q", ErrProbe, PathBPF, out.String())
	}
	switch pr.Status {
	case Inherited, NotInherited, Unavailable:
		return &pr, nil
	}
	return nil, fmt.Errorf("%w: path %s: unknown status %q", ErrProbe, PathBPF, pr.Status)
}

// childBPFApply masks one AT_HWCAP bit of itself through the backend in
// dir and runs the reporter as its child (fork + exec: the mask must
// survive both), passing its output on.
func childBPFApply(args []string) int {
	if len(args) != 1 {
		return 2
	}
	keep, word, bit, pr := hideOne()
	if pr != nil {
		return say(*pr)
	}
	b, err := bpf.Open(args[0])
	if err != nil {
		return say(PathResult{Status: Unavailable, Detail: err.Error()})
	}
	_, err = b.SetTask(os.Getpid(), keep)
	b.Close()
	if err != nil {
		return say(PathResult{Status: Unavailable, Detail: err.Error()})
	}
	cmd := exec.Command("/proc/self/exe", strconv.Itoa(word), strconv.FormatUint(uint64(bit), 10))
	cmd.Args[0] = argv0BPFReport
	cmd.Env = []string{}
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return say(PathResult{Status: Unavailable, Detail: "run reporter: " + err.Error()})
	}
	return 0
}

func lowestBit(have hwcap.Words) (word int, bit uint, ok bool) {
	for w := range have {
		if have[w] != 0 {
			return w, uint(bitsTrailing(have[w])), true
		}
	}
	return 0, 0, false
}
