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
	"time"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// Status is the verdict for one path.
type Status string

const (
	// Inherited: a child of a process masked through the path sees the mask.
	Inherited Status = "inherited"
	// NotInherited: the prctl worked but the child saw the full words.
	NotInherited Status = "not-inherited"
	// Unavailable: the path could not be tried (e.g. EPERM without
	// CAP_SYS_RESOURCE); Detail says why.
	Unavailable Status = "unavailable"
)

// PathResult is the verdict for one path.
type PathResult struct {
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Result is what the probe found on this boot.
type Result struct {
	Version int                      `json:"version"`
	BootID  string                   `json:"bootID"`
	Kernel  string                   `json:"kernel"`
	Paths   map[auxv.Path]PathResult `json:"paths"`
	// BPF is the eBPF backend's verdict (PathBPF), valid while the
	// backend's installation matches BPFStamp.
	BPF      *PathResult `json:"bpf,omitempty"`
	BPFStamp string      `json:"bpfStamp,omitempty"`
	// Cache says where the result came from: "hit", "miss" (probed and
	// stored), or "off: reason" (probed, not stored). Not serialised.
	Cache string `json:"-"`
}

const resultVersion = 2

// Inherits reports whether any of paths is known to make children inherit.
func (r *Result) Inherits(paths ...auxv.Path) bool {
	for _, p := range paths {
		if r.Paths[p].Status == Inherited {
			return true
		}
	}
	return false
}

// Summary is a one-line account: "auxv=unavailable (EPERM), map=not-inherited,
// bpf=unavailable (not installed (hwcapctl bpf install))".
func (r *Result) Summary() string {
	var parts []string
	for _, p := range auxv.Paths {
		pr, ok := r.Paths[p]
		if !ok {
			continue
		}
		s := string(p) + "=" + string(pr.Status)
		if pr.Detail != "" && pr.Status == Unavailable {
			s += " (" + pr.Detail + ")"
		}
		parts = append(parts, s)
	}
	if r.BPF != nil {
		s := PathBPF + "=" + string(r.BPF.Status)
		if r.BPF.Detail != "" && r.BPF.Status != Inherited {
			s += " (" + r.BPF.Detail + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// ErrProbe wraps failures of the probe machinery itself.
var ErrProbe = errors.New("kernel support probe failed")

// ChildPrefix starts the argv[0] of every re-execution of a binary by
// the probe; hwcap-runtime's C front end leaves such calls alone.
const ChildPrefix = "hwcap-internal-"

// Marker argv[0] values of the probe's re-executions.
const (
	argv0Apply  = ChildPrefix + "probe-apply"
	argv0Report = ChildPrefix + "probe-report"
)

// Timeout bounds one probe child.
const Timeout = 5 * time.Second

// Run probes every path now, without the cache: the prctl paths, then the
// eBPF backend installed under bpf.Dir().
func Run() (*Result, error) {
	res := &Result{Version: resultVersion, BootID: bootID(), Kernel: kernelRelease(), Paths: map[auxv.Path]PathResult{}}
	for _, p := range auxv.Paths {
		pr, err := runPath(p)
		if err != nil {
			return nil, err
		}
		res.Paths[p] = pr
	}
	dir := bpf.Dir()
	res.BPFStamp = bpfStamp(dir)
	pr, err := runBPF(dir)
	if err != nil {
		return nil, err
	}
	res.BPF = pr
	return res, nil
}

// runPath starts the apply child for path p and reads its verdict.
func runPath(p auxv.Path) (PathResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{argv0Apply, string(p)}
	cmd.Env = []string{}
	cmd.Dir = "/"
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return PathResult{}, fmt.Errorf("%w: path %s: %w: %s", ErrProbe, p, err, strings.TrimSpace(stderr.String()))
	}
	var pr PathResult
	if err := json.Unmarshal(out.Bytes(), &pr); err != nil {
		return PathResult{}, fmt.Errorf("%w: path %s: bad child output %q", ErrProbe, p, out.String())
	}
	switch pr.Status {
	case Inherited, NotInherited, Unavailable:
		return pr, nil
	}
	return PathResult{}, fmt.Errorf("%w: path %s: unknown status %q", ErrProbe, p, pr.Status)
}

// MaybeChild runs the probe's child protocol and exits if this process is
// one of its re-executions; otherwise it returns at once. Every binary that
// calls Run or Cached must call MaybeChild first thing in main.
func MaybeChild() {
	if len(os.Args) == 0 {
		return
	}
	bpf.MaybeChild()
	switch os.Args[0] {
	case argv0Apply:
		os.Exit(childApply(os.Args[1:]))
	case argv0Report:
		os.Exit(childReport(os.Args[1:], auxv.ReadSelf, "child still saw %s bit %d"))
	case argv0BPFApply:
		os.Exit(childBPFApply(os.Args[1:]))
	case argv0BPFReport:
		// On the eBPF backend the mask is on the initial stack, where
		// programs read it; /proc/self/auxv keeps the kernel's words.
		os.Exit(childReport(os.Args[1:], auxv.ReadStack, "a child still saw %s bit %d on its stack"))
	}
}

// childApply hides the lowest set bit of the first non-zero AT_HWCAPn word
// through the given path, then execs the reporter, telling it which bit to
// look for. It writes a PathResult itself only when it cannot get that far.
func childApply(args []string) int {
	if len(args) != 1 {
		return 2
	}
	path := auxv.Path(args[0])
	keep, word, bit, pr := hideOne()
	if pr != nil {
		return say(*pr)
	}
	if _, err := auxv.Apply(keep, path); err != nil {
		return say(PathResult{Status: Unavailable, Detail: shortErr(err)})
	}
	err := unix.Exec("/proc/self/exe", []string{argv0Report, strconv.Itoa(word), strconv.FormatUint(uint64(bit), 10)}, []string{})
	return say(PathResult{Status: Unavailable, Detail: "exec reporter: " + err.Error()})
}

// hideOne is the mask a probe child applies to itself: every word kept
// but the lowest set bit of the first non-zero AT_HWCAPn word of its own
// vector, and where that bit is. A non-nil result says why there is none.
func hideOne() (keep hwcap.Words, word int, bit uint, pr *PathResult) {
	v, err := auxv.ReadSelf()
	if err != nil {
		return keep, 0, 0, &PathResult{Status: Unavailable, Detail: err.Error()}
	}
	word, bit, ok := lowestBit(v.HWCAPs())
	if !ok {
		return keep, 0, 0, &PathResult{Status: Unavailable, Detail: "no AT_HWCAP bit set to hide"}
	}
	keep = hwcap.All
	keep[word] &^= 1 << bit
	return keep, word, bit, nil
}

// childReport says whether the given bit is hidden in the vector that
// read returns (its saved vector, or its initial stack's); seen formats
// the detail (word name, bit) when it is not.
func childReport(args []string, read func() (auxv.Vector, error), seen string) int {
	if len(args) != 2 {
		return 2
	}
	word, err1 := strconv.Atoi(args[0])
	bit, err2 := strconv.ParseUint(args[1], 10, 6)
	if err1 != nil || err2 != nil || word < 0 || word >= hwcap.NumWords {
		return 2
	}
	v, err := read()
	if err != nil {
		return say(PathResult{Status: Unavailable, Detail: err.Error()})
	}
	if v.HWCAPs().Has(word, uint(bit)) {
		return say(PathResult{Status: NotInherited, Detail: fmt.Sprintf(seen, hwcap.WordName[word], bit)})
	}
	return say(PathResult{Status: Inherited})
}

func say(pr PathResult) int {
	b, _ := json.Marshal(pr)
	os.Stdout.Write(b)
	return 0
}

// shortErr turns "...: prctl(PR_SET_MM_AUXV): operation not permitted" into
// the errno's short form when it is one, else the whole message.
func shortErr(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			var se *os.SyscallError
			if errors.As(err, &se) {
				return se.Syscall + ": " + name
			}
			return name
		}
	}
	return err.Error()
}

func bitsTrailing(x uint64) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

// bootID reads this boot's id with a plain open/read/close: it runs on
// every container start (probe.Cached), and os.ReadFile's fstat and
// poller registration cost as much again (make bench, BenchmarkCached).
func bootID() string {
	b, err := readSmall("/proc/sys/kernel/random/boot_id", unix.O_RDONLY|unix.O_CLOEXEC, 64)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// readSmall reads at most limit bytes of path, opened with flags, without
// Go's poller; more than limit bytes is an error.
func readSmall(path string, flags, limit int) ([]byte, error) {
	var fd int
	err := retryEINTR(func() (err error) { fd, err = unix.Open(path, flags, 0); return err })
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b, err := readAllFD(fd, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// readAllFD reads fd to its end; more than limit bytes is an error.
func readAllFD(fd, limit int) ([]byte, error) {
	buf := make([]byte, 512)
	n := 0
	for {
		if n == len(buf) {
			if n > limit {
				return nil, fmt.Errorf("larger than %d bytes", limit)
			}
			buf = append(buf, make([]byte, len(buf))...)
		}
		var m int
		err := retryEINTR(func() (err error) { m, err = unix.Read(fd, buf[n:]); return err })
		if err != nil {
			return nil, err
		}
		if m == 0 {
			if n > limit {
				return nil, fmt.Errorf("larger than %d bytes", limit)
			}
			return buf[:n], nil
		}
		n += m
	}
}

func retryEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// KernelRelease returns uname -r.
func KernelRelease() string { return kernelRelease() }

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
