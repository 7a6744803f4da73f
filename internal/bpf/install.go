package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
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
	Dir    string
	Mode   Mode
	Action Action
	// Programs are the attached programs' names and kernel tags.
	Programs map[string]string
}

// Install loads the programs of mode, pins their maps and links under dir
// and attaches them. It is idempotent: the same programs already attached
// leave everything as it is. An upgrade keeps the pinned maps (so every
// masked task and cgroup stays masked) and attaches the new programs
// before the old links are replaced, so no exec runs without a program:
// for a moment both run, and the second finds the words already masked.
func Install(dir string, mode Mode) (*InstallResult, error) {
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
		m, err := ebpf.LoadPinnedMap(pinPath(dir, name), nil)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("open pinned map %s: %w", pinPath(dir, name), err)
		}
		if cerr := spec.Maps[name].Compatible(m); cerr != nil {
			m.Close()
			return nil, fmt.Errorf("%w: %s does not match this version's map (%w); run hwcapctl bpf remove first (masked processes then lose their masks)", ErrIncompatible, pinPath(dir, name), cerr)
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
		if err := coll.Maps[name].Pin(pinPath(dir, name)); err != nil {
			return nil, fmt.Errorf("pin map %s: %w", name, err)
		}
	}
	old, _ := attachedPrograms(dir)
	if sameTags(old, res.Programs) && usesPinned(dir, obj, len(repl) == len(obj.maps)) {
		res.Action = Unchanged
		return res, nil
	}
	res.Action = Installed
	if len(old) > 0 {
		res.Action = Upgraded
	}
	// fork first: an exec program without it would mask a task's exec
	// but not its children's.
	for _, p := range []struct{ prog, pin string }{{obj.fork, pinLinkFork}, {obj.exec, pinLinkExec}} {
		if err := attachAndPin(coll.Programs[p.prog], pinPath(dir, p.pin)); err != nil {
			return nil, err
		}
	}
	// Objects of the other mode (seen) are no longer used.
	for _, name := range allPins {
		if !contains(obj.maps, name) && name != pinLinkExec && name != pinLinkFork {
			if err := os.Remove(pinPath(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove %s: %w", pinPath(dir, name), err)
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
		return fmt.Errorf("%w: attach %s: %w", ErrLoad, prog, err)
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
func attachedPrograms(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, pin := range []string{pinLinkExec, pinLinkFork} {
		info, err := linkProgram(pinPath(dir, pin))
		if err != nil {
			return out, err
		}
		out[info.Name] = info.Tag
	}
	return out, nil
}

// usesPinned reports whether the attached programs use the maps pinned in
// dir (allReused: none had to be created now). Identical programs that
// write to other maps than the pinned ones (a map pin removed by hand)
// would make every later mask a no-op, so they are replaced.
func usesPinned(dir string, obj objects, allReused bool) bool {
	if !allReused {
		return false
	}
	used := map[ebpf.MapID]bool{}
	for _, pin := range []string{pinLinkExec, pinLinkFork} {
		info, err := linkProgram(pinPath(dir, pin))
		if err != nil {
			return false
		}
		ids, _ := info.MapIDs()
		for _, id := range ids {
			used[id] = true
		}
	}
	for _, name := range []string{pinTaskMask, pinCgroupMask} {
		m, err := ebpf.LoadPinnedMap(pinPath(dir, name), nil)
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

// linkProgram returns the program info behind a pinned link.
func linkProgram(path string) (*ebpf.ProgramInfo, error) {
	l, err := link.LoadPinnedLink(path, nil)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	li, err := l.Info()
	if err != nil {
		return nil, err
	}
	p, err := ebpf.NewProgramFromID(li.Program)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return p.Info()
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
func loadError(err error, mode Mode) error {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		last := ""
		for i := len(ve.Log) - 1; i >= 0 && last == ""; i-- {
			if l := strings.TrimSpace(ve.Log[i]); l != "" && !strings.HasPrefix(l, "processed ") && !strings.HasPrefix(l, "verification time") && !strings.HasPrefix(l, "stack depth") {
				last = l
			}
		}
		if mode == ModeWrite && strings.Contains(strings.Join(ve.Log, "\n"), "bpf_probe_write_user") {
			lvl, lerr := Lockdown()
			if lerr == nil && lvl != "none" {
				return lockdownError(lvl)
			}
			return fmt.Errorf("%w: the kernel refuses bpf_probe_write_user (%s), as it does under kernel lockdown (lockdown state: %s)", ErrLockdown, last, lockdownState(lvl, lerr))
		}
		return fmt.Errorf("%w: the verifier rejected them on kernel %s: %s", ErrLoad, release(), last)
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("%w: kernel %s: %w", ErrOldKernel, release(), err)
	}
	return fmt.Errorf("%w: %w", ErrLoad, err)
}

func lockdownState(lvl string, err error) string {
	if err != nil {
		return "unknown: " + err.Error()
	}
	return lvl
}

// Remove detaches the programs and removes everything pinned under dir,
// then dir itself. Masks set on tasks and cgroups are gone with their maps.
// Removing what is not installed is not an error; it reports what it
// removed.
func Remove(dir string) ([]string, error) {
	var removed []string
	for _, name := range append([]string{pinLinkExec + "_new", pinLinkFork + "_new"}, allPins...) {
		err := os.Remove(pinPath(dir, name))
		switch {
		case err == nil:
			removed = append(removed, name)
		case errors.Is(err, fs.ErrNotExist):
		default:
			return removed, fmt.Errorf("remove %s: %w", pinPath(dir, name), err)
		}
	}
	err := os.Remove(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, fmt.Errorf("remove %s: %w (something else is pinned there)", dir, err)
	}
	return removed, nil
}
