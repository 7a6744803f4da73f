package main

import (
	"fmt"
	"sort"
)

// security lists, per architecture, the features whose hiding weakens a
// security mechanism: software that sees the bit cleared does not turn the
// mechanism on. Callers warn when a mask hides one of them. The list is
// written by hand (the kernel has no such notion); every name must exist in
// the parsed table, so a renamed feature fails the generator rather than
// silently losing its mark.
//
// amd64: none. AT_HWCAP word 0 is CPUID.1:EDX (fpu ... pbe), which holds
// no security mechanism a program opts into; AT_HWCAP2's fsgsbase only says
// that user space may use the {RD,WR}{FS,GS}BASE instructions and
// ring3mwait only allows MONITOR/MWAIT in ring 3. Shadow stacks (user_shstk)
// and protection keys (pku/ospke) are not in the auxiliary vector on x86.
var security = map[string]map[string]string{
	"arm64": {
		"paca":         "pointer authentication of return addresses (PAC)",
		"pacg":         "generic pointer authentication (PACGA)",
		"bti":          "branch target identification",
		"gcs":          "guarded control stack (shadow stack)",
		"mte":          "memory tagging extension",
		"mte3":         "asymmetric memory tag checking",
		"mtefar":       "tag bits in fault addresses (MTE)",
		"mtestoreonly": "store-only memory tag checking",
		"poe":          "permission overlays (memory protection keys)",
		"dit":          "data-independent timing for constant-time code",
	},
}

// markSecurity sets Security on the listed features of arch.
func markSecurity(arch string, fs []feature) error {
	list := security[arch]
	seen := make(map[string]bool, len(list))
	for i := range fs {
		if _, ok := list[fs[i].Name]; ok {
			fs[i].Security = true
			seen[fs[i].Name] = true
		}
	}
	var missing []string
	for name := range list {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("%s: security list names %v, which the kernel's table does not have (fix security.go)", arch, missing)
	}
	return nil
}
