package main

import (
	"math/bits"
	"regexp"
	"strconv"
	"strings"
)

// #define PPC_FEATURE2_HTM		0x40000000
var rePPCBit = regexp.MustCompile(`^#\s*define\s+(PPC_FEATURE(2?)_([A-Z0-9_a-z]+))\s+(0x[0-9a-fA-F]+)\s*(?:/\*.*\*/)?$`)

// parsePPC64 reads PPC_FEATURE_* (AT_HWCAP) and PPC_FEATURE2_* (AT_HWCAP2)
// from uapi cputable.h. powerpc's /proc/cpuinfo prints no feature list, so
// there are no kernel names to copy; glibc's LD_SHOW_AUXV names contain
// '-' and '+' ("htm-nosc", "power5+"), which feature lists cannot carry.
// The names are therefore derived from the macros, reproducibly: the suffix
// after PPC_FEATURE_/PPC_FEATURE2_, without a leading HAS_, in lower case
// (PPC_FEATURE_HAS_ALTIVEC -> "altivec", PPC_FEATURE2_ARCH_3_1 ->
// "arch_3_1", PPC_FEATURE_64 -> "64").
func parsePPC64(t tree) ([]feature, error) {
	f, err := t.read(filePPCUAPI)
	if err != nil {
		return nil, err
	}
	defs, err := f.defines(`PPC_FEATURE`, rePPCBit)
	if err != nil {
		return nil, err
	}
	out := make([]feature, 0, len(defs))
	for _, m := range defs {
		v, err := strconv.ParseUint(m[4][2:], 16, 64)
		if err != nil || v == 0 || v&(v-1) != 0 {
			return nil, f.errorf("%s is %s, not a single bit", m[1], m[4])
		}
		word := 0
		if m[2] == "2" {
			word = 1
		}
		name := strings.ToLower(strings.TrimPrefix(m[3], "HAS_"))
		out = append(out, feature{Name: name, Macro: m[1], Word: word, Bit: uint(bits.TrailingZeros64(v))})
	}
	return out, nil
}
