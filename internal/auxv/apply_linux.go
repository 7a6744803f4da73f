package auxv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Path is a way of rewriting the saved auxiliary vector.
type Path string

const (
	PathAuxv Path = "auxv" // prctl(PR_SET_MM, PR_SET_MM_AUXV)
	PathMap  Path = "map"  // prctl(PR_SET_MM, PR_SET_MM_MAP) with auxv set
)

// Paths lists every path in the order Apply prefers them.
var Paths = []Path{PathAuxv, PathMap}

// AvailablePaths returns the paths this process may use: PR_SET_MM_AUXV
// only with CAP_SYS_RESOURCE (trying it without only earns an EPERM and an
// audit record), PR_SET_MM_MAP always.
func AvailablePaths() []Path {
	if HasCapSysResource() {
		return []Path{PathAuxv, PathMap}
	}
	return []Path{PathMap}
}

// Sentinel errors of Apply.
var (
	ErrApply  = errors.New("cannot rewrite the saved auxiliary vector")
	ErrVerify = errors.New("saved auxiliary vector differs after prctl")
)

// ApplyResult says what each tried path did.
type ApplyResult struct {
	Before hwcap.Words    // AT_HWCAP* words before
	After  hwcap.Words    // words re-read after
	OK     []Path         // paths whose prctl succeeded
	Failed map[Path]error // paths whose prctl failed
}

// Apply rewrites this process's saved auxiliary vector so that its
// AT_HWCAP* words are ANDed with keep, using every given path (each sets the
// same vector; on a kernel that honours only one of them, the other's
// failure is harmless). It then re-reads the vector and checks it. It
// fails if no path succeeded or the re-read vector is not the masked one.
func Apply(keep hwcap.Words, paths ...Path) (*ApplyResult, error) {
	// The map must describe this thread's mm at the moment of the call;
	// Go's runtime does not move brk, but keep the calls on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	cur, err := ReadSelf()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrApply, err)
	}
	want := cur.Masked(keep)
	res := &ApplyResult{Before: cur.HWCAPs(), Failed: map[Path]error{}}
	buf, err := want.Encode(Native)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrApply, err)
	}
	for _, p := range paths {
		var perr error
		switch p {
		case PathAuxv:
			perr = prctlSetMMAuxv(buf)
		case PathMap:
			perr = setMMMap(buf)
		default:
			perr = fmt.Errorf("unknown path %q", p)
		}
		if perr != nil {
			res.Failed[p] = perr
			continue
		}
		res.OK = append(res.OK, p)
	}
	if len(res.OK) == 0 {
		var errs joined
		for _, p := range paths {
			errs = append(errs, res.Failed[p])
		}
		return res, fmt.Errorf("%w: %w", ErrApply, errs)
	}
	got, err := ReadSelf()
	if err != nil {
		return res, fmt.Errorf("%w: re-read: %w", ErrVerify, err)
	}
	res.After = got.HWCAPs()
	if res.After != want.HWCAPs() {
		return res, fmt.Errorf("%w: want %s, have %s", ErrVerify, want.HWCAPs(), res.After)
	}
	return res, nil
}

// setMMMap sets the vector with PR_SET_MM_MAP, describing the current
// layout from /proc/self/stat and brk(0) so that nothing else changes.
func setMMMap(buf []byte) error {
	m, err := currentMap()
	if err != nil {
		return fmt.Errorf("prctl(PR_SET_MM_MAP): %w", err)
	}
	m.Auxv = uint64(uintptr(unsafe.Pointer(&buf[0])))
	m.AuxvSize = uint32(len(buf))
	m.ExeFD = ^uint32(0)
	err = prctlSetMMMap(m)
	runtime.KeepAlive(buf)
	return err
}

// currentMap reads the mm layout fields of /proc/self/stat (proc(5): 26
// startcode, 27 endcode, 28 startstack, 45 start_data, 46 end_data, 47
// start_brk, 48 arg_start, 49 arg_end, 50 env_start, 51 env_end).
func currentMap() (*prctlMMMap, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil, err
	}
	f, err := statFields(b)
	if err != nil {
		return nil, err
	}
	get := func(n int) uint64 { return f[n] }
	m := &prctlMMMap{
		StartCode:  get(26),
		EndCode:    get(27),
		StartStack: get(28),
		StartData:  get(45),
		EndData:    get(46),
		StartBrk:   get(47),
		ArgStart:   get(48),
		ArgEnd:     get(49),
		EnvStart:   get(50),
		EnvEnd:     get(51),
		Brk:        currentBrk(),
	}
	if m.StartCode == 0 || m.StartStack == 0 {
		return nil, errors.New("/proc/self/stat hides the memory layout (fields 26-28 read 0)")
	}
	return m, nil
}

// statFields parses /proc/PID/stat into a map from 1-based field number to
// value, for the numeric fields after the command name.
func statFields(b []byte) (map[int]uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("/proc/self/stat: no ')' after comm")
	}
	rest := strings.Fields(string(b[i+1:]))
	// rest[0] is field 3 (state).
	out := make(map[int]uint64, len(rest))
	for j, s := range rest {
		n := j + 3
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			out[n] = v
		} else if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			out[n] = 0 // negative fields (priority, nice) do not matter here
		}
	}
	if len(rest) < 49 {
		return nil, fmt.Errorf("/proc/self/stat: %d fields, want at least 51", len(rest)+2)
	}
	return out, nil
}

// joined is errors.Join on one line: "a; b".
type joined []error

func (j joined) Error() string {
	msgs := make([]string, len(j))
	for i, e := range j {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joined) Unwrap() []error { return j }
