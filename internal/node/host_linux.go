package node

import (
	"fmt"
	"os"
	"strings"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// Files the host description reads; variables so tests can point them at
// fixtures.
var (
	procCPUInfo   = "/proc/cpuinfo"
	procOSRelease = "/proc/sys/kernel/osrelease"
)

// Host describes this machine: the AT_HWCAP* words this process started
// with, on its initial stack (the words every new process on the host gets,
// or a masked process's children see), the kernel
// release, and the CPU model from /proc/cpuinfo. Only the auxiliary
// vector is essential; a missing /proc/cpuinfo or osrelease leaves the
// model or kernel empty.
func Host() (*Node, error) {
	t, err := hwcap.Host()
	if err != nil {
		return nil, err
	}
	// The initial stack's words are what this process's programs see; on
	// the eBPF backend a masked process's /proc/self/auxv keeps the
	// kernel's words, so the saved vector is only the fallback.
	v, err := auxv.ReadStack()
	if err != nil {
		if v, err = auxv.ReadSelf(); err != nil {
			return nil, fmt.Errorf("read this process's auxiliary vector: %w", err)
		}
	}
	n := &Node{Source: "this host", Kind: KindNode, Arch: t.Arch, Words: v.HWCAPs()}
	if h, err := os.Hostname(); err == nil {
		n.Hostname = cleanText(h)
	}
	if b, err := os.ReadFile(procOSRelease); err == nil {
		n.Kernel = cleanText(string(b))
	}
	if b, err := os.ReadFile(procCPUInfo); err == nil {
		n.Model = cleanText(cpuModel(b))
	}
	return n, nil
}

// cpuModel returns "model name" (x86 and others) or the arm64 MIDR name.
func cpuModel(b []byte) string {
	var impl, part string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			return strings.TrimSpace(v)
		case "CPU implementer":
			if impl == "" {
				impl = strings.TrimSpace(v)
			}
		case "CPU part":
			if part == "" {
				part = strings.TrimSpace(v)
			}
		}
	}
	return ArmModel(impl, part)
}
