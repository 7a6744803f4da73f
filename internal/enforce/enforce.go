package enforce

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

// Sentinel errors.
var (
	ErrNotInherited = errors.New("kernel does not pass HWCAP masks to child processes")
)

// Backend is how a mask reaches the processes a caller starts.
type Backend string

const (
	// BackendSeries: the kernel's HWCAP inheritance series (prctl).
	BackendSeries Backend = "series"
	// BackendBPF: hwcap's eBPF programs (hwcapctl bpf install).
	BackendBPF Backend = "bpf"
	// BackendNone: neither works here; the policy decided.
	BackendNone Backend = "none"
)

// FieldBackend is the log field naming the Backend.
const FieldBackend = "backend"

// Outcome records what MaskSelf did, for logs and error messages.
type Outcome struct {
	Keep      hwcap.Words   `json:"keep"`
	Before    hwcap.Words   `json:"before"`
	After     hwcap.Words   `json:"after"`
	Paths     []auxv.Path   `json:"paths"`
	Probe     *probe.Result `json:"probe,omitempty"`
	Inherited bool          `json:"inherited"`
	Backend   Backend       `json:"backend"`
	// ByHost: on the bpf backend, the mask was already in place (this
	// process's initial stack shows it): the host side (hwcap-hook or
	// hwcap-runtime) set it, as in a container that cannot reach BPF.
	ByHost   bool           `json:"byHost,omitempty"`
	Policy   hwcap.Policy   `json:"policy"`
	Decision hwcap.Decision `json:"decision"`
	Reason   string         `json:"reason,omitempty"`
}

// MaskSelf makes the processes the caller execs next carry the mask keep, by
// the first backend that works here, and decides by policy when none does:
//
//  1. series: the caller's saved auxiliary vector is masked with every
//     prctl path available to it and verified by re-reading; if the
//     per-boot probe (cache in runDir) says a path that worked makes
//     children inherit, that is all.
//  2. bpf: if the probe says the eBPF backend is installed and works, the
//     caller's task gets the mask in the backend's task storage (read
//     back); its exec and every descendant are masked.
//  3. Otherwise the mask may already be in place: on the bpf backend the
//     host side masks a container's init before it runs, and a process
//     inside the container (which cannot reach BPF) sees the mask on its
//     own initial stack. Only a stack that shows it counts.
//
// Under hwcap.Enforce, none of these yields an error wrapping
// ErrNotInherited with a one-line reason; under hwcap.Warn the Outcome
// records it and the caller goes on unmasked.
func MaskSelf(keep hwcap.Words, pol hwcap.Policy, runDir string) (*Outcome, error) {
	out := &Outcome{Keep: keep, Policy: pol, Backend: BackendNone}
	res, applyErr := auxv.Apply(keep, auxv.AvailablePaths()...)
	if res != nil {
		out.Before, out.After, out.Paths = res.Before, res.After, res.OK
	} else if v, err := auxv.ReadSelf(); err == nil {
		out.Before = v.HWCAPs()
		out.After = out.Before
	}
	pr, err := probe.Cached(runDir)
	if err != nil {
		return out.fail(err.Error(), err)
	}
	out.Probe = pr
	if applyErr == nil && pr.Inherits(out.Paths...) {
		out.Inherited, out.Backend, out.Decision = true, BackendSeries, hwcap.DecisionMasked
		return out, nil
	}
	var bpfErr error
	if pr.BPFWorks() {
		eff, err := bpfSelf(keep)
		if err == nil {
			out.Inherited, out.Backend, out.Decision = true, BackendBPF, hwcap.DecisionMasked
			out.After = out.Before.And(eff)
			return out, nil
		}
		bpfErr = err
	}
	if stack, ok := maskedByHost(out.Before, keep); ok {
		out.Inherited, out.Backend, out.ByHost, out.Decision = true, BackendBPF, true, hwcap.DecisionMasked
		out.After = stack
		return out, nil
	}
	if applyErr != nil && !pr.BPFWorks() {
		return out.fail(fmt.Sprintf("cannot mask this process: %v (probe: %s)", applyErr, pr.Summary()), applyErr)
	}
	reason := fmt.Sprintf("kernel %s does not pass HWCAP masks to child processes (probe: %s); it needs the \"exec: inherit HWCAPs from the parent process\" series, or hwcap's eBPF backend (hwcapctl bpf install)", pr.Kernel, pr.Summary())
	if bpfErr != nil {
		reason = fmt.Sprintf("the eBPF backend works on kernel %s but cannot be reached from this process: %v", pr.Kernel, bpfErr)
	}
	return out.fail(reason, ErrNotInherited)
}

// ErrNotMainThread: the eBPF backend keeps a process's mask on its main
// thread, so a process that masks itself must exec from that thread.
var ErrNotMainThread = errors.New("the eBPF backend masks a process's exec from its main thread only; this goroutine runs on another (a bug: lock the main goroutine to the main thread in an init function)")

// bpfSelf gives the calling process the mask in the eBPF backend and
// returns the mask in place (an earlier one is kept: masks only AND). The
// caller must exec from the main thread (see ErrNotMainThread).
func bpfSelf(keep hwcap.Words) (hwcap.Words, error) {
	if unix.Gettid() != os.Getpid() {
		return hwcap.Words{}, ErrNotMainThread
	}
	b, err := bpf.Open(bpf.Dir())
	if err != nil {
		return hwcap.Words{}, err
	}
	defer b.Close()
	return b.SetTask(os.Getpid(), keep)
}

// maskedByHost reports whether this process's initial stack already shows
// keep over the kernel's words before (the eBPF backend masked its exec,
// through its task or its cgroup), and returns the stack's words.
func maskedByHost(before, keep hwcap.Words) (hwcap.Words, bool) {
	v, err := auxv.ReadStack()
	if err != nil {
		return hwcap.Words{}, false
	}
	stack := v.HWCAPs()
	want := before.And(keep)
	return stack, stack != before && stack.SubsetOf(want)
}

func (o *Outcome) fail(reason string, cause error) (*Outcome, error) {
	o.Reason = reason
	if o.Policy == hwcap.Warn {
		o.Decision = hwcap.DecisionWarned
		return o, nil
	}
	o.Decision = hwcap.DecisionRefused
	if errors.Is(cause, ErrNotInherited) {
		return o, &reasonError{reason: reason, sentinel: ErrNotInherited}
	}
	return o, cause
}

// reasonError carries a full one-line reason and matches its sentinel.
type reasonError struct {
	reason   string
	sentinel error
}

func (e *reasonError) Error() string        { return e.reason }
func (e *reasonError) Is(target error) bool { return target == e.sentinel }
