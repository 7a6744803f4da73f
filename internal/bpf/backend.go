package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Backend is a handle on an installed backend's maps.
type Backend struct {
	dir    string
	mode   Mode
	task   *ebpf.Map
	cgroup *ebpf.Map
	stats  *ebpf.Map
	seen   *ebpf.Map // dry-run only
}

// Open opens the backend installed under dir. ErrNotInstalled when its
// programs are not attached there.
func Open(dir string) (*Backend, error) {
	info, err := linkProgram(pinPath(dir, pinLinkExec))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: nothing pinned at %s (hwcapctl bpf install)", ErrNotInstalled, pinPath(dir, pinLinkExec))
		}
		return nil, fmt.Errorf("open the BPF backend at %s: %w", dir, err)
	}
	mode, ok := modeOfProgram(info.Name)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds program %q, not one of hwcap's", ErrIncompatible, pinPath(dir, pinLinkExec), info.Name)
	}
	b := &Backend{dir: dir, mode: mode}
	for _, m := range []struct {
		name string
		dst  **ebpf.Map
	}{{pinTaskMask, &b.task}, {pinCgroupMask, &b.cgroup}, {pinStats, &b.stats}} {
		if *m.dst, err = ebpf.LoadPinnedMap(pinPath(dir, m.name), nil); err != nil {
			b.Close()
			return nil, fmt.Errorf("open the BPF backend at %s: %w", dir, err)
		}
	}
	if mode == ModeDryRun {
		if b.seen, err = ebpf.LoadPinnedMap(pinPath(dir, pinSeen), nil); err != nil {
			b.Close()
			return nil, fmt.Errorf("open the BPF backend at %s: %w", dir, err)
		}
	}
	return b, nil
}

// Close releases the map handles (the pins stay).
func (b *Backend) Close() {
	for _, m := range []*ebpf.Map{b.task, b.cgroup, b.stats, b.seen} {
		if m != nil {
			m.Close()
		}
	}
}

// Mode is the installed variant.
func (b *Backend) Mode() Mode { return b.mode }

// Dir is where the backend is pinned.
func (b *Backend) Dir() string { return b.dir }

// SetTask gives process pid the mask keep, ANDed with any mask it already
// has (a mask only ever hides more), and returns the mask now in place.
// Its later children inherit it at fork; its next execve is masked.
func (b *Backend) SetTask(pid int, keep hwcap.Words) (hwcap.Words, error) {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: %w", pid, err)
	}
	defer unix.Close(fd)
	eff := keep
	var cur mask
	if err := b.task.Lookup(uint32(fd), &cur); err == nil {
		eff = eff.And(fromMask(cur))
	} else if !errors.Is(err, ebpf.ErrKeyNotExist) {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: read its mask: %w", pid, err)
	}
	if err := b.task.Update(uint32(fd), toMask(eff), ebpf.UpdateAny); err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: %w", pid, err)
	}
	// Read back: the map, not our intention, is what the program sees.
	var got mask
	if err := b.task.Lookup(uint32(fd), &got); err != nil {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: read it back: %w", pid, err)
	}
	if fromMask(got) != eff {
		return hwcap.Words{}, fmt.Errorf("mask pid %d: read back %s, wrote %s", pid, fromMask(got), eff)
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
	var cur mask
	err = b.task.Lookup(uint32(fd), &cur)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return hwcap.Words{}, false, nil
	}
	if err != nil {
		return hwcap.Words{}, false, err
	}
	return fromMask(cur), true, nil
}

// ClearTask removes the mask of process pid (its children keep theirs).
func (b *Backend) ClearTask(pid int) error {
	fd, err := pidfdOpen(pid)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := b.task.Delete(uint32(fd)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
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
	eff := keep
	var cur mask
	if err := b.cgroup.Lookup(id, &cur); err == nil {
		eff = eff.And(fromMask(cur))
	} else if !errors.Is(err, ebpf.ErrKeyNotExist) {
		return hwcap.Words{}, fmt.Errorf("mask cgroup %d: %w", id, err)
	}
	if err := b.cgroup.Update(id, toMask(eff), ebpf.UpdateAny); err != nil {
		return hwcap.Words{}, fmt.Errorf("mask cgroup %d: %w", id, err)
	}
	return eff, nil
}

// CgroupMask returns the mask registered for cgroup id, if any.
func (b *Backend) CgroupMask(id uint64) (hwcap.Words, bool, error) {
	var cur mask
	err := b.cgroup.Lookup(id, &cur)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return hwcap.Words{}, false, nil
	}
	if err != nil {
		return hwcap.Words{}, false, err
	}
	return fromMask(cur), true, nil
}

// ClearCgroup removes the mask of cgroup id.
func (b *Backend) ClearCgroup(id uint64) error {
	if err := b.cgroup.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unmask cgroup %d: %w", id, err)
	}
	return nil
}

// Cgroups returns every registered cgroup id and its mask.
func (b *Backend) Cgroups() (map[uint64]hwcap.Words, error) {
	out := map[uint64]hwcap.Words{}
	var id uint64
	var m mask
	it := b.cgroup.Iterate()
	for it.Next(&id, &m) {
		out[id] = fromMask(m)
	}
	return out, it.Err()
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
	out := map[string]uint64{}
	for i, name := range StatNames {
		var per []uint64
		if err := b.stats.Lookup(uint32(i), &per); err != nil {
			return nil, fmt.Errorf("read stats %s: %w", name, err)
		}
		var sum uint64
		for _, v := range per {
			sum += v
		}
		out[name] = sum
	}
	return out, nil
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
	if b.seen == nil {
		return Seen{}, false, fmt.Errorf("the backend at %s runs in %s mode, which records nothing", b.dir, b.mode)
	}
	var v hwcapDryHwcapSeen
	err := b.seen.Lookup(uint32(pid), &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return Seen{}, false, nil
	}
	if err != nil {
		return Seen{}, false, err
	}
	s := Seen{Before: hwcap.Words(v.Before), After: hwcap.Words(v.After), ByTask: v.Source&1 != 0, ByCgroup: v.Source&2 != 0}
	for w := range s.Present {
		s.Present[w] = v.Present&(1<<w) != 0
	}
	return s, true, nil
}

// StatNames names the counters of enum hwcap_stat, in order.
var StatNames = []string{
	"exec-masked",       // words cleared on a new stack (dry-run: would be)
	"exec-unchanged",    // masked exec with nothing left to clear
	"exec-task",         // execs masked by a task's own mask
	"exec-cgroup",       // execs masked by a cgroup's mask
	"fork-copied",       // children that inherited a mask
	"miss-no-mm",        // no mm at exec
	"miss-read-saved",   // mm->saved_auxv unreadable
	"miss-auxv-format",  // saved auxv too long, or not 64-bit (compat task)
	"miss-read-stack",   // new stack unreadable
	"miss-layout",       // argc or a NULL terminator not where expected
	"miss-mismatch",     // stack auxv differs from mm->saved_auxv
	"miss-write",        // bpf_probe_write_user failed
	"miss-fork-storage", // no storage for a child's mask
}
