package main

import (
	"regexp"
	"strings"
)

// #define COMPAT_HWCAP_ISA_I	(1 << ('I' - 'A'))
var reRISCVBit = regexp.MustCompile(`^#\s*define\s+(COMPAT_HWCAP_ISA_([A-Z]))\s+\(\s*1\s*<<\s*\(\s*'([A-Z])'\s*-\s*'A'\s*\)\s*\)$`)

// parseRISCV64 reads AT_HWCAP's single-letter ISA bits (bit = letter - 'a').
// The name is the letter in lower case, as it appears in /proc/cpuinfo's
// "isa" string (rv64imafdcv...); multi-letter extensions are not in the
// auxiliary vector. Render prints the letters in bit (alphabetical) order,
// not in the canonical ISA-string order.
func parseRISCV64(t tree) ([]feature, error) {
	f, err := t.read(fileRISCVUAPI)
	if err != nil {
		return nil, err
	}
	defs, err := f.defines(`COMPAT_HWCAP_ISA_`, reRISCVBit)
	if err != nil {
		return nil, err
	}
	out := make([]feature, 0, len(defs))
	for _, m := range defs {
		if m[2] != m[3] {
			return nil, f.errorf("%s is bit '%s' - 'A' (want '%s')", m[1], m[3], m[2])
		}
		out = append(out, feature{Name: strings.ToLower(m[2]), Macro: m[1], Word: 0, Bit: uint(m[2][0] - 'A')})
	}
	return out, nil
}
