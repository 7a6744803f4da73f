package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"

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
	pinTaskMask   = "task_mask"
	pinCgroupMask = "cgroup_mask"
	pinStats      = "stats"
	pinSeen       = "seen"
	pinLinkExec   = "link_exec"
	pinLinkFork   = "link_fork"
)

// objects of one mode: its spec, programs and pinned maps.
type objects struct {
	mode Mode
	load func() (*ebpf.CollectionSpec, error)
	exec string
	fork string
	maps []string
}

var variants = map[Mode]objects{
	ModeWrite: {
		mode: ModeWrite, load: loadHwcap, exec: hwcapProgHwcapExec, fork: hwcapProgHwcapFork,
		maps: []string{pinTaskMask, pinCgroupMask, pinStats},
	},
	ModeDryRun: {
		mode: ModeDryRun, load: loadHwcapDry, exec: hwcapDryProgHwcapExecDry, fork: hwcapDryProgHwcapForkDry,
		maps: []string{pinTaskMask, pinCgroupMask, pinStats, pinSeen},
	},
}

// modeOfProgram tells the mode from an installed exec program's name.
func modeOfProgram(name string) (Mode, bool) {
	for m, o := range variants {
		if o.exec == name {
			return m, true
		}
	}
	return "", false
}

// ParseMode accepts "write" and "dry-run".
func ParseMode(s string) (Mode, error) {
	if _, ok := variants[Mode(s)]; ok {
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown BPF backend mode %q (want write or dry-run)", s)
}

// mask is the map value for a hwcap.Words mask (struct hwcap_mask).
type mask = hwcapHwcapMask

func toMask(w hwcap.Words) mask { return mask{Keep: w} }

func fromMask(m mask) hwcap.Words { return hwcap.Words(m.Keep) }

// allPins lists every name this package may pin in Dir.
var allPins = []string{pinLinkExec, pinLinkFork, pinTaskMask, pinCgroupMask, pinStats, pinSeen}

func pinPath(dir, name string) string { return filepath.Join(dir, name) }
