package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

const nWords = 4

var wordNames = [nWords]string{"hwcap", "hwcap2", "hwcap3", "hwcap4"}

// words is one view of AT_HWCAP..AT_HWCAP4; an absent entry is not 0.
type words struct {
	v       [nWords]uint64
	present [nWords]bool
}

func (w words) String() string {
	var b strings.Builder
	for i := range nWords {
		if i > 0 {
			b.WriteByte(',')
		}
		if w.present[i] {
			fmt.Fprintf(&b, "%s=%#x", wordNames[i], w.v[i])
		} else {
			fmt.Fprintf(&b, "%s=absent", wordNames[i])
		}
	}
	return b.String()
}

// and keeps only the bits of keep in the present words.
func (w words) and(keep [nWords]uint64) words {
	for i := range nWords {
		w.v[i] &= keep[i]
	}
	return w
}

// equal compares the words from index from on (x86's getauxval(AT_HWCAP)
// is glibc's, not the kernel's, so it is compared from 1).
func (w words) equal(o words, from int) bool {
	for i := from; i < nWords; i++ {
		if w.present[i] != o.present[i] || w.v[i] != o.v[i] {
			return false
		}
	}
	return true
}

// proc is what the payload reported in one process.
type proc struct {
	label    string
	depth    int
	pid      int
	ppid     int
	views    map[string]words // proc, stack, getauxval
	dispatch string           // "sve" or "neon"; "" when not reported
	sum      uint64
}

func (p *proc) name() string { return fmt.Sprintf("%s[%d] pid %d", p.label, p.depth, p.pid) }

// report is the parsed output of one payload tree.
type report struct {
	procs []*proc
}

// find returns the process with label and depth, or nil.
func (r *report) find(label string, depth int) *proc {
	for _, p := range r.procs {
		if p.label == label && p.depth == depth {
			return p
		}
	}
	return nil
}

// parseReport reads the payload's HWCAP and DISPATCH lines and ignores
// everything else (runc's own messages).
func parseReport(out string) (*report, error) {
	r := &report{}
	byKey := map[string]*proc{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || (f[0] != "HWCAP" && f[0] != "DISPATCH") {
			continue
		}
		kv := map[string]string{}
		for _, x := range f[1:] {
			k, v, ok := strings.Cut(x, "=")
			if !ok {
				return nil, fmt.Errorf("payload line %q: field %q is not key=value", sc.Text(), x)
			}
			kv[k] = v
		}
		depth, err := strconv.Atoi(kv["depth"])
		if err != nil {
			return nil, fmt.Errorf("payload line %q: depth: %w", sc.Text(), err)
		}
		key := kv["label"] + "/" + kv["depth"]
		p := byKey[key]
		if p == nil {
			p = &proc{label: kv["label"], depth: depth, views: map[string]words{}}
			byKey[key] = p
			r.procs = append(r.procs, p)
		}
		switch f[0] {
		case "HWCAP":
			var w words
			for i, n := range wordNames {
				s, ok := kv[n]
				if !ok {
					return nil, fmt.Errorf("payload line %q: no %s", sc.Text(), n)
				}
				if s == "absent" {
					continue
				}
				if w.v[i], err = strconv.ParseUint(s, 0, 64); err != nil {
					return nil, fmt.Errorf("payload line %q: %s: %w", sc.Text(), n, err)
				}
				w.present[i] = true
			}
			if p.pid, err = strconv.Atoi(kv["pid"]); err != nil {
				return nil, fmt.Errorf("payload line %q: pid: %w", sc.Text(), err)
			}
			if p.ppid, err = strconv.Atoi(kv["ppid"]); err != nil {
				return nil, fmt.Errorf("payload line %q: ppid: %w", sc.Text(), err)
			}
			p.views[kv["src"]] = w
		case "DISPATCH":
			p.dispatch = kv["path"]
			if p.sum, err = strconv.ParseUint(kv["sum"], 10, 64); err != nil {
				return nil, fmt.Errorf("payload line %q: sum: %w", sc.Text(), err)
			}
		}
	}
	return r, sc.Err()
}

// feature is a kernel HWCAP bit: AT_HWCAP(word+1), bit.
type feature struct {
	word int
	bit  uint
}

// features holds the bits this test uses, as the kernel's uapi headers
// define them (arch/arm64/include/uapi/asm/hwcap.h; x86: AT_HWCAP is
// CPUID.1:EDX, arch/x86/include/uapi/asm/hwcap2.h), keyed by the name
// /proc/cpuinfo prints.
var features = map[string]map[string]feature{
	"arm64": {
		"fp": {0, 0}, "asimd": {0, 1}, "evtstrm": {0, 2}, "aes": {0, 3}, "pmull": {0, 4},
		"sha1": {0, 5}, "sha2": {0, 6}, "crc32": {0, 7}, "atomics": {0, 8}, "fphp": {0, 9},
		"asimdhp": {0, 10}, "cpuid": {0, 11}, "asimdrdm": {0, 12}, "lrcpc": {0, 15},
		"dcpop": {0, 16}, "asimddp": {0, 20}, "sve": {0, 22}, "uscat": {0, 25},
		"sve2": {1, 1},
	},
	"amd64": {
		"fpu": {0, 0}, "vme": {0, 1}, "sse2": {0, 26},
		"ring3mwait": {1, 0}, "fsgsbase": {1, 1},
	},
}

// bits returns the words with exactly the named features set.
func bits(arch string, names []string) ([nWords]uint64, error) {
	var b [nWords]uint64
	for _, n := range names {
		f, ok := features[arch][n]
		if !ok {
			return b, fmt.Errorf("feature %q has no bit for %s in this test", n, arch)
		}
		b[f.word] |= 1 << f.bit
	}
	return b, nil
}

// has reports whether w carries feature name.
func has(arch string, w words, name string) bool {
	f := features[arch][name]
	return w.present[f.word] && w.v[f.word]&(1<<f.bit) != 0
}

// allOnes keeps every bit.
var allOnes = [nWords]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}

// plan is what each architecture hides and allows.
type plan struct {
	deny      []string // present on the CPU; hidden by shim and wrapper
	profile   []string // an allow-list profile
	cannotAdd []string // an allow list; some of these the CPU lacks
}

var plans = map[string]plan{
	// sve and sve2: what a checkpoint from a Neoverse V1/V2 must not use
	// on an N1. The profile is examples/profiles/neoverse-n1.json's list.
	"arm64": {
		deny: []string{"sve", "sve2"},
		profile: []string{"fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics",
			"fphp", "asimdhp", "cpuid", "asimdrdm", "lrcpc", "dcpop", "asimddp"},
		cannotAdd: []string{"fp", "asimd", "sve", "sve2", "uscat"},
	},
	// One feature of each word QEMU's x86 max model has; vme and
	// ring3mwait it lacks.
	"amd64": {
		deny:      []string{"sse2", "fsgsbase"},
		profile:   []string{"fpu", "sse2"},
		cannotAdd: []string{"fpu", "sse2", "vme", "ring3mwait"},
	},
}
