package main

import (
	"regexp"
	"strconv"
)

var (
	// HWCAP_NR_VXRS		= 11,
	reS390Enum = regexp.MustCompile(`(?m)^\s*HWCAP_NR_([A-Z0-9_]+)\s*=\s*(\d+)\s*,`)
	// #define HWCAP_VXRS		BIT(HWCAP_NR_VXRS)
	reS390Bit = regexp.MustCompile(`^#\s*define\s+(HWCAP_([A-Z0-9_]+))\s+BIT\(HWCAP_NR_([A-Z0-9_]+)\)$`)
	// [HWCAP_NR_VXRS]	= "vx",
	reS390Name = regexp.MustCompile(`^\[HWCAP_NR_([A-Z0-9_]+)\]\s*=\s*"([^"]*)",?$`)
)

// parseS390X reads the HWCAP_NR_* enum and HWCAP_* bits of asm/elf.h and
// the names of hwcap_str[] in processor.c (the "features" line of
// /proc/cpuinfo, printed in bit order).
func parseS390X(t tree) ([]feature, error) {
	elf, err := t.read(fileS390Elf)
	if err != nil {
		return nil, err
	}
	enum := reS390Enum.FindAllStringSubmatch(elf.text, -1)
	if len(enum) == 0 {
		return nil, elf.errorf("no HWCAP_NR_* enum found")
	}
	nr := make(map[string]uint, len(enum))
	for _, m := range enum {
		v, _ := strconv.ParseUint(m[2], 10, 8)
		nr[m[1]] = uint(v)
	}
	defs, err := elf.defines(`HWCAP_`, reS390Bit)
	if err != nil {
		return nil, err
	}
	macro := make(map[string]string, len(defs))
	for _, m := range defs {
		if m[2] != m[3] {
			return nil, elf.errorf("%s is BIT(HWCAP_NR_%s) (want HWCAP_NR_%s)", m[1], m[3], m[2])
		}
		if _, ok := nr[m[3]]; !ok {
			return nil, elf.errorf("%s: HWCAP_NR_%s is not in the enum", m[1], m[3])
		}
		macro[m[3]] = m[1]
	}
	for suffix := range nr {
		if _, ok := macro[suffix]; !ok {
			return nil, elf.errorf("HWCAP_NR_%s has no #define HWCAP_%s", suffix, suffix)
		}
	}

	proc, err := t.read(fileS390Processor)
	if err != nil {
		return nil, err
	}
	body, err := proc.block("hwcap_str[]", `\bhwcap_str\[\]\s*=\s*\{`)
	if err != nil {
		return nil, err
	}
	entries, err := proc.entries("hwcap_str[]", body, reS390Name)
	if err != nil {
		return nil, err
	}
	out := make([]feature, 0, len(entries))
	named := make(map[string]bool, len(entries))
	for _, e := range entries {
		bit, ok := nr[e[1]]
		if !ok {
			return nil, proc.errorf("hwcap_str[]: %q is HWCAP_NR_%s, which %s does not define", e[2], e[1], fileS390Elf)
		}
		if named[e[1]] {
			return nil, proc.errorf("hwcap_str[]: HWCAP_NR_%s named twice", e[1])
		}
		named[e[1]] = true
		out = append(out, feature{Name: e[2], Macro: macro[e[1]], Word: 0, Bit: bit})
	}
	for suffix := range nr {
		if !named[suffix] {
			return nil, proc.errorf("hwcap_str[] has no name for HWCAP_NR_%s", suffix)
		}
	}
	return out, nil
}
