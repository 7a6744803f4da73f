package main

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	// #define X86_FEATURE_XMM2		( 0*32+26) /* "sse2" */
	reX86Word0 = regexp.MustCompile(`^#\s*define\s+(X86_FEATURE_[A-Z0-9_]+)\s+\(\s*0\s*\*\s*32\s*\+\s*(\d+)\s*\)\s*(.*)$`)
	reX86Name  = regexp.MustCompile(`^/\*\s*"([^"]*)"`)
	// #define HWCAP2_FSGSBASE			_BITUL(1)
	reX86HWCAP2 = regexp.MustCompile(`^#\s*define\s+(HWCAP2_([A-Z0-9_]+))\s+_BITUL\((\d+)\)$`)
)

// x86NameRule is the sentence of cpufeatures.h that says how names are
// chosen; if it changes, so may the meaning of a missing name.
const x86NameRule = "Otherwise, this feature bit is not displayed in /proc/cpuinfo at all."

// parseAMD64 reads AT_HWCAP (CPUID.1:EDX, word 0 of cpufeatures.h, named by
// the quoted string that starts each comment, as /proc/cpuinfo's "flags"
// line prints them) and AT_HWCAP2 (uapi hwcap2.h, named by the macro suffix
// in lower case, which is also the name of the matching cpuinfo flag).
// A word-0 bit without a quoted name, or with "", is not printed by
// /proc/cpuinfo, so it gets no name here either (Names shows it as
// hwcap:bitN).
func parseAMD64(t tree) ([]feature, error) {
	cf, err := t.read(fileX86Features)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(commentText(cf.text), x86NameRule) {
		return nil, cf.errorf("the naming rule %q is gone: check how /proc/cpuinfo names flags now and update amd64.go", x86NameRule)
	}
	defs, err := cf.defines(`X86_FEATURE_\w+\s+\(\s*0\s*\*\s*32\s*\+`, reX86Word0)
	if err != nil {
		return nil, err
	}
	var out []feature
	for _, m := range defs {
		bit, _ := strconv.ParseUint(m[2], 10, 8)
		if bit >= 32 {
			return nil, cf.errorf("%s: bit %d of word 0 (CPUID.1:EDX has 32 bits)", m[1], bit)
		}
		n := reX86Name.FindStringSubmatch(strings.TrimSpace(m[3]))
		if n == nil || n[1] == "" {
			continue
		}
		out = append(out, feature{Name: n[1], Macro: m[1], Word: 0, Bit: uint(bit)})
	}
	if len(out) == 0 {
		return nil, cf.errorf("no named feature in word 0")
	}

	h2, err := t.read(fileX86HWCAP2)
	if err != nil {
		return nil, err
	}
	defs, err = h2.defines(`HWCAP2_`, reX86HWCAP2)
	if err != nil {
		return nil, err
	}
	for _, m := range defs {
		bit, _ := strconv.ParseUint(m[3], 10, 8)
		out = append(out, feature{Name: strings.ToLower(m[2]), Macro: m[1], Word: 1, Bit: uint(bit)})
	}
	return out, nil
}

// commentText flattens text for phrase searches: runs of blanks and the
// "*" that starts each line of a block comment become one space.
func commentText(text string) string {
	var words []string
	for _, w := range strings.Fields(text) {
		if w != "*" {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}
