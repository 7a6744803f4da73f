package bpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Backend is a handle on an installed backend's maps.
type Backend struct {
	dir    string
	mode   Mode
	task   int
	cgroup int
	stats  int
	seen   int // dry-run only; -1 otherwise
}

// ProgInfo is what hwcap reads of a loaded program.
type ProgInfo struct {
	ID   uint32
	Name string
	Tag  string // the kernel's hash of the instructions, hex
}

// LinkProgram returns the program attached through the link pinned at
// path.
func LinkProgram(path string) (*ProgInfo, error) {
	lfd, err := objGet(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(lfd)
	li := make([]byte, 64) // struct bpf_link_info: type, id, prog_id, ...
	if err := objInfo(lfd, li); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pfd, err := progFD(binary.NativeEndian.Uint32(li[8:]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(pfd)
	// struct bpf_prog_info: type, id, tag[8] at 8, ..., name[16] at 64.
	pi := make([]byte, 80)
	if err := objInfo(pfd, pi); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &ProgInfo{
		ID:   binary.NativeEndian.Uint32(pi[4:]),
		Tag:  fmt.Sprintf("%x", pi[8:16]),
		Name: string(bytes.TrimRight(pi[64:80], "\x00")),
	}, nil
}

// Open opens the backend installed under dir. ErrNotInstalled when its
// programs are not attached there.
func Open(dir string) (*Backend, error) {
	info, err := LinkProgram(PinPath(dir, PinLinkExec))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: nothing pinned at %s (hwcapctl bpf install)", ErrNotInstalled, PinPath(dir, PinLinkExec))
		}
		return nil, fmt.Errorf("open the BPF backend at %s: %w", dir, err)
	}
	mode, ok := modeOfProgram(info.Name)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds program %q, not one of hwcap's", ErrIncompatible, PinPath(dir, PinLinkExec), info.Name)
	}
	b := &Backend{dir: dir, mode: mode, task: -1, cgroup: -1, stats: -1, seen: -1}
	maps := []struct {
		name string
		fd   *int
	}{{PinTaskMask, &b.task}, {PinCgroupMask, &b.cgroup}, {PinStats, &b.stats}}
	if mode == ModeDryRun {
		maps = append(maps, struct {
			name string
			fd   *int
		}{PinSeen, &b.seen})
	}
	for _, m := range maps {
		if *m.fd, err = objGet(PinPath(dir, m.name)); err != nil {
			b.Close()
			return nil, fmt.Errorf("open the BPF backend at %s: %w", dir, err)
		}
	}
	return b, nil
}

// Close releases the map handles (the pins stay).
func (b *Backend) Close() {
	for _, fd := range []int{b.task, b.cgroup, b.stats, b.seen} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	b.task, b.cgroup, b.stats, b.seen = -1, -1, -1, -1
}

// Mode is the installed variant.
func (b *Backend) Mode() Mode { return b.mode }

// Dir is where the backend is pinned.
func (b *Backend) Dir() string { return b.dir }

func pidfdKey(fd int) []byte {
	k := make([]byte, 4)
	binary.NativeEndian.PutUint32(k, uint32(fd))
	return k
}

func u64Key(v uint64) []byte {
	k := make([]byte, 8)
	binary.NativeEndian.PutUint64(k, v)
	return k
}

// lookupMask reads a mask, ok false when there is none.
func lookupMask(fd int, key []byte) (hwcap.Words, bool, error) {
	v := make([]byte, MaskSize)
	err := mapOp(cmdMapLookupElem, fd, key, v, 0)
	if errors.Is(err, ErrKeyNotExist) {
		return hwcap.Words{}, false, nil
	}
	if err != nil {
		return hwcap.Words{}, false, err
	}
	return decodeMask(v), true, nil
}

// SetTask gives process pid the mask keep, ANDed with any mask it already
// has (a mask only ever hides more), and returns the mask now in place.
// Its later children inherit it at fork; its next execve is masked.
func (b *Backend) SetTask(pid int, keep hwcap.Words) (hwcap.Words, error) {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: %w", pid, err)
	}
	defer unix.Close(fd)
	key := pidfdKey(fd)
	cur, ok, err := lookupMask(b.task, key)
	if err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: read its mask: %w", pid, err)
	}
	eff := keep
	if ok {
		eff = eff.And(cur)
	}
	if err := mapOp(cmdMapUpdateElem, b.task, key, encodeMask(eff), 0); err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: %w", pid, err)
	}
	// Read back: the map, not our intention, is what the program sees.
	got, ok, err := lookupMask(b.task, key)
	if err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: read it back: %w", pid, err)
	}
	if !ok || got != eff {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: read back %s (present %v), wrote %s", pid, got, ok, eff)
	}
	return eff, nil
}

// TaskMask returns the mask of process pid, if it has one.
func (b *Backend) TaskMask(pid int) (hwcap.Words, bool, error) {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return hwcap.Words{}, false, err
	}
	defer unix.Close(fd)
	return lookupMask(b.task, pidfdKey(fd))
}

// ClearTask removes the mask of process pid (its children keep theirs).
func (b *Backend) ClearTask(pid int) error {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := mapOp(cmdMapDeleteElem, b.task, pidfdKey(fd), nil, 0); err != nil && !errors.Is(err, ErrKeyNotExist) {
		return fmt.Errorf("unmask pid %d: %w", pid, err)
	}
	return nil
}

// SetCgroup gives cgroup id the mask keep, ANDed with any it already has,
// and returns the mask now in place. The root cgroup (which would mask
// the whole node) is refused.
func (b *Backend) SetCgroup(id uint64, keep hwcap.Words) (hwcap.Words, error) {
	if id <= 1 {
		return hwcap.Words{}, fmt.Errorf("mask cgroup %d: refusing the root cgroup (that would mask every process on the node)", id)
	}
	key := u64Key(id)
	cur, ok, err := lookupMask(b.cgroup, key)
	if err != nil {
		return hwcap.Words{}, fmt.Errorf("mask cgroup %d: %w", id, err)
	}
	eff := keep
	if ok {
		eff = eff.And(cur)
	}
	if err := mapOp(cmdMapUpdateElem, b.cgroup, key, encodeMask(eff), 0); err != nil {
		return hwcap.Words{}, fmt.Errorf("mask cgroup %d: %w", id, err)
	}
	return eff, nil
}

// CgroupMask returns the mask registered for cgroup id, if any.
func (b *Backend) CgroupMask(id uint64) (hwcap.Words, bool, error) {
	return lookupMask(b.cgroup, u64Key(id))
}

// ClearCgroup removes the mask of cgroup id.
func (b *Backend) ClearCgroup(id uint64) error {
	if err := mapOp(cmdMapDeleteElem, b.cgroup, u64Key(id), nil, 0); err != nil && !errors.Is(err, ErrKeyNotExist) {
		return fmt.Errorf("unmask cgroup %d: %w", id, err)
	}
	return nil
}

// Cgroups returns every registered cgroup id and its mask.
func (b *Backend) Cgroups() (map[uint64]hwcap.Words, error) {
	out := map[uint64]hwcap.Words{}
	var cur []byte // nil: the first key
	for n := 0; ; n++ {
		next := make([]byte, 8)
		err := mapOp(cmdMapGetNextKey, b.cgroup, cur, next, 0)
		if errors.Is(err, ErrKeyNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if n > 1<<20 {
			return nil, errors.New("cgroup map: iteration does not end")
		}
		m, ok, err := lookupMask(b.cgroup, next)
		if err != nil {
			return nil, err
		}
		if ok {
			out[binary.NativeEndian.Uint64(next)] = m
		}
		cur = next
	}
}

// GC removes the entries of cgroups that no longer exist and returns
// their ids. A cgroup id is never reused within a boot, so a stale entry
// masks nothing; it only takes a slot.
func (b *Backend) GC() ([]uint64, error) {
	all, err := b.Cgroups()
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, nil
	}
	ids := make([]uint64, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	alive, err := cgroupsAlive(ids)
	if err != nil {
		return nil, err
	}
	var gone []uint64
	for _, id := range ids {
		if alive[id] {
			continue
		}
		if err := b.ClearCgroup(id); err != nil {
			return gone, err
		}
		gone = append(gone, id)
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	return gone, nil
}

// Stats returns the programs' counters, summed over CPUs, by name.
func (b *Backend) Stats() (map[string]uint64, error) {
	ncpu, err := possibleCPUs()
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	v := make([]byte, 8*ncpu)
	for i, name := range StatNames {
		key := make([]byte, 4)
		binary.NativeEndian.PutUint32(key, uint32(i))
		if err := mapOp(cmdMapLookupElem, b.stats, key, v, 0); err != nil {
			return nil, fmt.Errorf("read stats %s: %w", name, err)
		}
		var sum uint64
		for c := range ncpu {
			sum += binary.NativeEndian.Uint64(v[8*c:])
		}
		out[name] = sum
	}
	return out, nil
}

// possibleCPUs counts the CPUs in /sys/devices/system/cpu/possible: a
// per-CPU map's value holds one slot for each.
func possibleCPUs() (int, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err1 := strconv.Atoi(lo)
		z := a
		var err2 error
		if isRange {
			z, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || z < a {
			return 0, fmt.Errorf("/sys/devices/system/cpu/possible: %q", b)
		}
		n += z - a + 1
	}
	return n, nil
}

// Seen is what the dry-run program recorded for a process's last exec.
type Seen struct {
	Before, After hwcap.Words
	Present       [hwcap.NumWords]bool
	ByTask        bool
	ByCgroup      bool
}

// Seen returns the dry-run record of process pid's last masked exec.
func (b *Backend) Seen(pid int) (Seen, bool, error) {
	if b.seen < 0 {
		return Seen{}, false, fmt.Errorf("the backend at %s runs in %s mode, which records nothing", b.dir, b.mode)
	}
	key := make([]byte, 4)
	binary.NativeEndian.PutUint32(key, uint32(pid))
	v := make([]byte, SeenSize)
	err := mapOp(cmdMapLookupElem, b.seen, key, v, 0)
	if errors.Is(err, ErrKeyNotExist) {
		return Seen{}, false, nil
	}
	if err != nil {
		return Seen{}, false, err
	}
	s := Seen{Before: decodeMask(v), After: decodeMask(v[MaskSize:])}
	present := binary.NativeEndian.Uint32(v[2*MaskSize:])
	source := binary.NativeEndian.Uint32(v[2*MaskSize+4:])
	s.ByTask, s.ByCgroup = source&1 != 0, source&2 != 0
	for w := range s.Present {
		s.Present[w] = present&(1<<w) != 0
	}
	return s, true, nil
}
