package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"github.com/hwcap/hwcap/internal/bpf"
)

// Action says what Install did.
type Action string

const (
	Installed Action = "installed" // nothing was pinned before
	Upgraded  Action = "upgraded"  // other programs were replaced; maps kept
	Unchanged Action = "unchanged" // the same programs were already attached
)

// InstallResult reports an Install.
type InstallResult struct {
	Dir    string   `json:"dir"`
	Mode   bpf.Mode `json:"mode"`
	Action Action   `json:"action"`
	// Programs are the attached programs' names and kernel tags.
	Programs map[string]string `json:"programs"`
}

// objects of one mode: its spec, programs and pinned maps.
type objects struct {
	load       func() (*ebpf.CollectionSpec, error)
	exec, fork string
	maps       []string
}

var variants = map[bpf.Mode]objects{
	bpf.ModeWrite: {
		load: loadHwcap, exec: hwcapProgHwcapExec, fork: hwcapProgHwcapFork,
		maps: []string{bpf.PinTaskMask, bpf.PinCgroupMask, bpf.PinStats},
	},
	bpf.ModeDryRun: {
		load: loadHwcapDry, exec: hwcapDryProgHwcapExecDry, fork: hwcapDryProgHwcapForkDry,
		maps: []string{bpf.PinTaskMask, bpf.PinCgroupMask, bpf.PinStats, bpf.PinSeen},
	},
}

// Check is bpf.Check with the probe for BPF task storage (Linux 5.11+).
func Check(dir string, mode bpf.Mode) error {
	return bpf.CheckWith(dir, mode, func() error {
		if err := features.HaveMapType(ebpf.TaskStorage); err != nil {
			return fmt.Errorf("%w: kernel %s has no BPF task storage (Linux 5.11 or newer needed): %w", bpf.ErrOldKernel, bpf.Release(), err)
		}
		return nil
	})
}

// Install loads the programs of mode, pins their maps and links under dir
// and attaches them. It is idempotent: the same programs already attached
// leave everything as it is. An upgrade keeps the pinned maps (so every
// masked task and cgroup stays masked) and attaches the new programs
// before the old links are replaced, so no exec runs without a program:
// for a moment both run, and the second finds the words already masked.
func Install(dir string, mode bpf.Mode) (*InstallResult, error) {
	obj, ok := variants[mode]
	if !ok {
		return nil, fmt.Errorf("unknown BPF backend mode %q", mode)
	}
	if err := Check(dir, mode); err != nil {
		return nil, err
	}
	spec, err := obj.load()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	repl := map[string]*ebpf.Map{}
	defer func() {
		for _, m := range repl {
			m.Close()
		}
	}()
	for _, name := range obj.maps {
		m, err := ebpf.LoadPinnedMap(bpf.PinPath(dir, name), nil)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open pinned map %s: %w", bpf.PinPath(dir, name), err)
		}
		if cerr := spec.Maps[name].Compatible(m); cerr != nil {
			m.Close()
			return nil, fmt.Errorf("%w: %s does not match this version's map (%w); run hwcapctl bpf remove first (masked processes then lose their masks)", bpf.ErrIncompatible, bpf.PinPath(dir, name), cerr)
		}
		repl[name] = m
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: repl})
	if err != nil {
		return nil, loadError(err, mode)
	}
	defer coll.Close()
	res := &InstallResult{Dir: dir, Mode: mode, Programs: map[string]string{}}
	for _, name := range []string{obj.exec, obj.fork} {
		info, err := coll.Programs[name].Info()
		if err != nil {
			return nil, fmt.Errorf("program %s: %w", name, err)
		}
		res.Programs[name] = info.Tag
	}
	for _, name := range obj.maps {
		if _, reused := repl[name]; reused {
			continue
		}
		if err := coll.Maps[name].Pin(bpf.PinPath(dir, name)); err != nil {
			return nil, fmt.Errorf("pin map %s: %w", name, err)
		}
	}
	old := attachedPrograms(dir)
	if sameTags(old, res.Programs) && usesPinned(dir, len(repl) == len(obj.maps)) {
		res.Action = Unchanged
		return res, nil
	}
	res.Action = Installed
	if len(old) > 0 {
		res.Action = Upgraded
	}
	// fork first: an exec program without it would mask a task's exec
	// but not its children's.
	for _, p := range []struct{ prog, pin string }{{obj.fork, bpf.PinLinkFork}, {obj.exec, bpf.PinLinkExec}} {
		if err := attachAndPin(coll.Programs[p.prog], bpf.PinPath(dir, p.pin)); err != nil {
			return nil, err
		}
	}
	// Maps of the other mode (seen) are no longer used.
	for _, name := range bpf.AllPins {
		if !contains(obj.maps, name) && name != bpf.PinLinkExec && name != bpf.PinLinkFork {
			if err := os.Remove(bpf.PinPath(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove %s: %w", bpf.PinPath(dir, name), err)
			}
		}
	}
	return res, nil
}

// attachAndPin attaches prog, pins the link at a temporary name and renames
// it over pin: the rename drops the old link (detaching its program) in
// the same step that publishes the new one, which is already attached.
func attachAndPin(prog *ebpf.Program, pin string) error {
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		return fmt.Errorf("%w: attach %s: %w", bpf.ErrLoad, prog, err)
	}
	defer l.Close()
	tmp := pin + "_new" // bpffs refuses names with a dot
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := l.Pin(tmp); err != nil {
		return fmt.Errorf("pin link %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, pin); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace link %s: %w", pin, err)
	}
	return nil
}

// attachedPrograms returns the name → tag of the programs behind the
// pinned links in dir.
func attachedPrograms(dir string) map[string]string {
	out := map[string]string{}
	for _, pin := range []string{bpf.PinLinkExec, bpf.PinLinkFork} {
		info, err := bpf.LinkProgram(bpf.PinPath(dir, pin))
		if err != nil {
			continue
		}
		out[info.Name] = info.Tag
	}
	return out
}

// usesPinned reports whether the attached programs use the maps pinned in
// dir (allReused: none had to be created now). Identical programs that
// write to other maps than the pinned ones (a map pin removed by hand)
// would make every later mask a no-op, so they are replaced.
func usesPinned(dir string, allReused bool) bool {
	if !allReused {
		return false
	}
	used := map[ebpf.MapID]bool{}
	for _, pin := range []string{bpf.PinLinkExec, bpf.PinLinkFork} {
		l, err := link.LoadPinnedLink(bpf.PinPath(dir, pin), nil)
		if err != nil {
			return false
		}
		li, err := l.Info()
		l.Close()
		if err != nil {
			return false
		}
		p, err := ebpf.NewProgramFromID(li.Program)
		if err != nil {
			return false
		}
		info, err := p.Info()
		p.Close()
		if err != nil {
			return false
		}
		ids, _ := info.MapIDs()
		for _, id := range ids {
			used[id] = true
		}
	}
	for _, name := range []string{bpf.PinTaskMask, bpf.PinCgroupMask} {
		m, err := ebpf.LoadPinnedMap(bpf.PinPath(dir, name), nil)
		if err != nil {
			return false
		}
		info, err := m.Info()
		m.Close()
		if err != nil {
			return false
		}
		id, ok := info.ID()
		if !ok || !used[id] {
			return false
		}
	}
	return true
}

func sameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loadError turns a load failure into one line naming its cause.
func loadError(err error, mode bpf.Mode) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		last := ""
		for i := len(ve.Log) - 1; i >= 0 && last == ""; i-- {
			if l := strings.TrimSpace(ve.Log[i]); l != "" && !strings.HasPrefix(l, "processed ") && !strings.HasPrefix(l, "verification time") && !strings.HasPrefix(l, "stack depth") {
				last = l
			}
		}
		if mode == bpf.ModeWrite && strings.Contains(strings.Join(ve.Log, "\n"), "bpf_probe_write_user") {
			lvl, lerr := bpf.Lockdown()
			if lerr == nil && lvl != "none" {
				return bpf.LockdownError(lvl)
			}
			state := lvl
			if lerr != nil {
				state = "unknown: " + lerr.Error()
			}
			return fmt.Errorf("%w: the kernel refuses bpf_probe_write_user (%s), as it does under kernel lockdown (lockdown state: %s)", bpf.ErrLockdown, last, state)
		}
		return fmt.Errorf("%w: the verifier rejected them on kernel %s: %s", bpf.ErrLoad, bpf.Release(), last)
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%w: kernel %s: %w", bpf.ErrOldKernel, bpf.Release(), err)
	}
	return fmt.Errorf("%w: %w", bpf.ErrLoad, err)
}
