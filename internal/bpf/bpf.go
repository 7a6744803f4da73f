package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// DefaultDir is where the programs, links and maps are pinned.
const DefaultDir = "/sys/fs/bpf/hwcap"

// EnvDir overrides DefaultDir (tests; a node with bpffs elsewhere).
const EnvDir = "HWCAP_BPF_DIR"

// Dir returns $HWCAP_BPF_DIR, else DefaultDir.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// Mode says which variant of the programs is installed.
type Mode string

const (
	// ModeWrite rewrites the AT_HWCAP* words of masked processes.
	ModeWrite Mode = "write"
	// ModeDryRun only records what it would write (works under lockdown).
	ModeDryRun Mode = "dry-run"
)

// ParseMode accepts "write" and "dry-run".
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeWrite, ModeDryRun:
		return m, nil
	}
	return "", fmt.Errorf("unknown BPF backend mode %q (want write or dry-run)", s)
}

// Program names (the C functions of loader/c/hwcap.bpf.c), by mode; the
// exec program's name tells an installed backend's mode.
const (
	ProgExec    = "hwcap_exec"
	ProgFork    = "hwcap_fork"
	ProgExecDry = "hwcap_exec_dry"
	ProgForkDry = "hwcap_fork_dry"
)

func modeOfProgram(name string) (Mode, bool) {
	switch name {
	case ProgExec:
		return ModeWrite, true
	case ProgExecDry:
		return ModeDryRun, true
	}
	return "", false
}

// Sentinel errors: the causes an operator can act on.
var (
	ErrLockdown     = errors.New("kernel lockdown forbids bpf_probe_write_user")
	ErrNoBTF        = errors.New("kernel has no BTF")
	ErrOldKernel    = errors.New("kernel too old")
	ErrCapability   = errors.New("missing capability")
	ErrNoBPFFS      = errors.New("bpffs not mounted")
	ErrNotInstalled = errors.New("BPF backend not installed")
	ErrIncompatible = errors.New("pinned BPF objects of another version")
	ErrUnsupported  = errors.New("unsupported platform")
	ErrLoad         = errors.New("kernel refused the BPF programs")
	ErrNoCgroup     = errors.New("no cgroup v2 hierarchy")
)

// Names of the pinned objects in Dir.
const (
	PinTaskMask   = "task_mask"
	PinCgroupMask = "cgroup_mask"
	PinStats      = "stats"
	PinSeen       = "seen"
	PinLinkExec   = "link_exec"
	PinLinkFork   = "link_fork"
)

// AllPins lists every name hwcap may pin in Dir, links first.
var AllPins = []string{PinLinkExec, PinLinkFork, PinTaskMask, PinCgroupMask, PinStats, PinSeen}

// PinPath is the path of a pinned object.
func PinPath(dir, name string) string { return filepath.Join(dir, name) }

// Map value layouts (loader checks them against the C structs' sizes).
const (
	// MaskSize is struct hwcap_mask: the four AND words.
	MaskSize = 8 * hwcap.NumWords
	// SeenSize is struct hwcap_seen: before[4], after[4], present, source.
	SeenSize = 16*hwcap.NumWords + 8
)

func encodeMask(w hwcap.Words) []byte {
	b := make([]byte, MaskSize)
	for i, v := range w {
		binary.NativeEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func decodeMask(b []byte) hwcap.Words {
	var w hwcap.Words
	for i := range w {
		w[i] = binary.NativeEndian.Uint64(b[8*i:])
	}
	return w
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
