package node

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// MaxLineLen bounds one /proc/cpuinfo line; an x86 flags line of a current
// CPU is under 2 kB.
const MaxLineLen = 64 << 10

// x86HWCAP2 are the only AT_HWCAP2 names on x86 (arch/x86/include/uapi/asm/hwcap2.h),
// which /proc/cpuinfo prints among its flags under the same names.
var x86HWCAP2 = map[string]bool{"ring3mwait": true, "fsgsbase": true}

// ParseCPUInfo reads a /proc/cpuinfo capture. An arm64 capture is
// recognised by its "Features" lines, an x86 one by "flags". Every
// processor block is read and the result is the intersection of the
// blocks (the kernel prints one system-wide set on arm64; on x86 a
// per-CPU difference would mean some CPU lacks the feature). Lines that
// start with '#' are comments (for annotated reference captures).
func ParseCPUInfo(source string, data []byte) (*Node, error) {
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes (want a /proc/cpuinfo capture)", ErrBadInput, source, MaxInputSize)
	}
	n := &Node{Source: source, Kind: KindCPUInfo}
	var (
		key        string // "Features" or "flags"
		sets       int
		acc        = hwcap.All
		unknown    = map[string]bool{}
		table      *hwcap.Table
		implement  string
		part       string
		cpuArchVal string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxLineLen)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "#") {
			continue
		}
		k, v, ok := strings.Cut(text, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		switch k {
		case "Features", "flags":
			if key != "" && key != k {
				return nil, fmt.Errorf("%w: %s line %d: both \"Features\" (arm64) and \"flags\" (x86) lines (want one machine's /proc/cpuinfo)", ErrBadInput, source, line)
			}
			if key == "" {
				key = k
				arch := "arm64"
				if k == "flags" {
					arch = "amd64"
				}
				t, err := hwcap.Lookup(arch)
				if err != nil {
					return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, source, err)
				}
				table, n.Arch = t, t.Arch
			}
			w, err := parseFeatureLine(table, k, v, unknown)
			if err != nil {
				return nil, fmt.Errorf("%w: %s line %d: %w", ErrBadInput, source, line, err)
			}
			acc = acc.And(w)
			sets++
		case "model name":
			if n.Model == "" {
				n.Model = v
			}
		case "CPU implementer":
			if implement == "" {
				implement = v
			}
		case "CPU part":
			if part == "" {
				part = v
			}
		case "CPU architecture":
			if cpuArchVal == "" {
				cpuArchVal = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s line %d: %w (want a /proc/cpuinfo capture)", ErrBadInput, source, line+1, err)
	}
	if sets == 0 {
		return nil, fmt.Errorf("%w: %s: no \"Features\" (arm64) or \"flags\" (x86) line (want /proc/cpuinfo, `hwcapctl features --json` output or a profile)", ErrBadInput, source)
	}
	if key == "Features" && cpuArchVal != "" && cpuArchVal != "8" && !strings.HasPrefix(cpuArchVal, "AArch64") {
		return nil, fmt.Errorf("%w: %s: \"CPU architecture: %s\" is 32-bit arm, not supported (capture /proc/cpuinfo of an arm64 kernel)", ErrBadInput, source, cpuArchVal)
	}
	n.Words = acc
	if key == "Features" && n.Model == "" {
		n.Model = ArmModel(implement, part)
	}
	n.Model = cleanText(n.Model)
	for name := range unknown {
		n.Unknown = append(n.Unknown, name)
	}
	sortStrings(n.Unknown)
	return n, nil
}

// parseFeatureLine turns one Features/flags value into words. Every token
// must look like a kernel feature name; on arm64 a well-formed name the
// table lacks is recorded in unknown, on x86 every name outside AT_HWCAP
// (word 0) and the two AT_HWCAP2 names is ignored.
func parseFeatureLine(t *hwcap.Table, key, value string, unknown map[string]bool) (hwcap.Words, error) {
	var w hwcap.Words
	for _, tok := range strings.Fields(value) {
		if err := checkToken(tok); err != nil {
			return w, fmt.Errorf("%q: %w", key, err)
		}
		f, ok := t.Feature(tok)
		if key == "flags" {
			if ok && (f.Word == 0 || x86HWCAP2[tok]) {
				w = w.Or(f.Words())
			}
			continue
		}
		if !ok {
			unknown[tok] = true
			continue
		}
		w = w.Or(f.Words())
	}
	return w, nil
}

// checkToken accepts the characters the kernels' feature names use.
func checkToken(tok string) error {
	if len(tok) > hwcap.MaxNameLen {
		return fmt.Errorf("feature name %.20q... longer than %d bytes", tok, hwcap.MaxNameLen)
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("feature name %q has character %q (names are lower-case letters, digits and _ as in /proc/cpuinfo)", tok, rune(c))
		}
	}
	return nil
}

// MaxTextLen bounds the free-text fields of a description.
const MaxTextLen = 256

// cleanText makes a free-text field from a capture safe to print and to
// store: control characters become spaces, runs of spaces one, and it is
// cut to MaxTextLen bytes on a character boundary.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	for len(s) > MaxTextLen {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
