package node

import (
	"errors"
	"fmt"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Kinds of input a Node is read from.
const (
	KindNode    = "node"    // hwcapctl features --json
	KindCPUInfo = "cpuinfo" // a /proc/cpuinfo capture
	KindProfile = "profile" // a hwcap.dev/v1 profile
)

// MaxInputSize bounds any input file: a /proc/cpuinfo of a 256-CPU x86
// machine is about 400 kB, so 4 MiB is generous and still stops a stray
// disk image from being read into memory.
const MaxInputSize = 4 << 20

// Sentinel errors; every parse error wraps ErrBadInput.
var (
	ErrBadInput  = errors.New("bad node description")
	ErrMixedArch = errors.New("mixed architectures")
	ErrNoInput   = errors.New("no input")
)

// Node is one machine's (or one profile's) feature set.
type Node struct {
	Source   string      // where it was read from: a file name, "-" or "this host"
	Kind     string      // KindNode, KindCPUInfo or KindProfile
	Arch     string      // canonical architecture (hwcap.CanonicalArch)
	Hostname string      // may be empty
	Kernel   string      // kernel release, may be empty
	Model    string      // CPU model, may be empty
	Words    hwcap.Words // AT_HWCAP..AT_HWCAP4
	// Unknown lists well-formed names from a cpuinfo capture that this
	// build's table does not know (a newer kernel's features). They cannot
	// be part of a profile, so they are reported, never silently kept.
	Unknown []string
}

// Table returns the feature table of the node's architecture.
func (n *Node) Table() (*hwcap.Table, error) {
	t, err := hwcap.Lookup(n.Arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Source, err)
	}
	return t, nil
}

// Known returns the node's words restricted to the bits the table names.
func (n *Node) Known() hwcap.Words {
	t, err := n.Table()
	if err != nil {
		return hwcap.Words{}
	}
	return n.Words.And(t.Known())
}

// Names returns the node's feature names in table order (unknown bits as
// "hwcapN:bitB").
func (n *Node) Names() []string {
	t, err := n.Table()
	if err != nil {
		return nil
	}
	return t.Names(n.Words)
}

// Label is a short human name for the node in messages: its source, and
// its model when known.
func (n *Node) Label() string {
	if n.Model != "" {
		return n.Source + " (" + n.Model + ")"
	}
	return n.Source
}
