package node

import (
	"sort"
	"strconv"
	"strings"
)

// armParts names the MIDR implementer/part pairs an operator is likely to
// meet in a fleet (arch/arm64/include/asm/cputype.h). Anything else is
// shown by number.
var armParts = map[[2]uint64]string{
	{0x41, 0xd03}: "Cortex-A53",
	{0x41, 0xd07}: "Cortex-A57",
	{0x41, 0xd08}: "Cortex-A72",
	{0x41, 0xd0b}: "Cortex-A76",
	{0x41, 0xd0c}: "Neoverse-N1",
	{0x41, 0xd40}: "Neoverse-V1",
	{0x41, 0xd49}: "Neoverse-N2",
	{0x41, 0xd4f}: "Neoverse-V2",
	{0x41, 0xd83}: "Neoverse-V3AE",
	{0x41, 0xd84}: "Neoverse-V3",
	{0x41, 0xd8e}: "Neoverse-N3",
	{0x46, 0x001}: "A64FX",
	{0x50, 0x000}: "X-Gene",
	{0x51, 0xc00}: "Falkor",
	{0x61, 0x022}: "Apple M1 Icestorm",
	{0x61, 0x023}: "Apple M1 Firestorm",
	{0xc0, 0xac3}: "AmpereOne",
	{0x48, 0xd01}: "Kunpeng-920",
	{0x4e, 0x004}: "NVIDIA Carmel",
	{0x00, 0x051}: "QEMU max", // implementer 0 (software), part 'Q'
}

// ArmModel names an arm64 CPU from /proc/cpuinfo's "CPU implementer" and
// "CPU part" values (hex strings such as "0x41", "0xd0c").
func ArmModel(implementer, part string) string {
	if implementer == "" && part == "" {
		return ""
	}
	i, err1 := strconv.ParseUint(strings.TrimPrefix(implementer, "0x"), 16, 64)
	p, err2 := strconv.ParseUint(strings.TrimPrefix(part, "0x"), 16, 64)
	if err1 == nil && err2 == nil {
		if name, ok := armParts[[2]uint64{i, p}]; ok {
			return name
		}
	}
	return "implementer " + implementer + " part " + part
}

func sortStrings(s []string) { sort.Strings(s) }
