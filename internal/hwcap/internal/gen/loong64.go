package main

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	// #define HWCAP_LOONGARCH_LSX		(1 << 4)
	reLoongBit = regexp.MustCompile(`^#\s*define\s+(HWCAP_LOONGARCH_([A-Z0-9_]+))\s+\(\s*1(?:UL|ULL|U)?\s*<<\s*(\d+)\s*\)$`)
	// if (cpu_has_lsx)
	//	seq_puts(m, " lsx");
	reLoongName = regexp.MustCompile(`^if\s*\(\s*cpu_has_([a-z0-9_]+)\s*\)\s*seq_puts\(\s*m\s*,\s*" ([^" ]+)"\s*\);$`)
	reLoongHead = regexp.MustCompile(`seq_puts\(\s*m\s*,\s*"Features(?:\\t|\s)*:"\s*\);`)
	reLoongEnd  = regexp.MustCompile(`seq_puts\(\s*m\s*,\s*"\\n"\s*\);`)
	reLoongStmt = regexp.MustCompile(`if\s*\([^)]*\)\s*seq_puts\([^;]*;`)
)

// parseLoong64 reads the HWCAP_LOONGARCH_* bits of the uapi header and the
// names of the "Features" line in proc.c, where each name is printed under
// "if (cpu_has_X)"; cpu_has_X belongs to HWCAP_LOONGARCH_X. proc.c prints
// a few names (lam_bh, scq, ptw, lspw) out of bit order; Render keeps bit
// order.
func parseLoong64(t tree) ([]feature, error) {
	uapi, err := t.read(fileLoongUAPI)
	if err != nil {
		return nil, err
	}
	defs, err := uapi.defines(`HWCAP_LOONGARCH_`, reLoongBit)
	if err != nil {
		return nil, err
	}
	type bit struct {
		macro string
		bit   uint
	}
	bySuffix := make(map[string]bit, len(defs))
	for _, m := range defs {
		b, _ := strconv.ParseUint(m[3], 10, 8)
		bySuffix[m[2]] = bit{macro: m[1], bit: uint(b)}
	}

	proc, err := t.read(fileLoongProc)
	if err != nil {
		return nil, err
	}
	text := stripComments(proc.text)
	head := reLoongHead.FindStringIndex(text)
	if head == nil {
		return nil, proc.errorf(`the "Features" line (seq_puts(m, "Features\t\t:")) not found`)
	}
	rest := text[head[1]:]
	end := reLoongEnd.FindStringIndex(rest)
	if end == nil {
		return nil, proc.errorf(`the "Features" line has no closing seq_puts(m, "\n")`)
	}
	body := rest[:end[0]]
	stmts := reLoongStmt.FindAllString(body, -1)
	if leftover := strings.TrimSpace(reLoongStmt.ReplaceAllString(body, "")); leftover != "" {
		return nil, proc.errorf("Features line: cannot parse %q (expected if (cpu_has_x) seq_puts(m, \" x\");)", leftover)
	}
	if len(stmts) == 0 {
		return nil, proc.errorf("Features line is empty")
	}
	out := make([]feature, 0, len(stmts))
	named := make(map[string]bool, len(stmts))
	for _, s := range stmts {
		s = strings.Join(strings.Fields(s), " ")
		m := reLoongName.FindStringSubmatch(s)
		if m == nil {
			return nil, proc.errorf("Features line: cannot parse %q (expected form %s)", s, reLoongName)
		}
		suffix := strings.ToUpper(m[1])
		b, ok := bySuffix[suffix]
		if !ok {
			return nil, proc.errorf("Features line: %q is printed for cpu_has_%s, but %s has no HWCAP_LOONGARCH_%s", m[2], m[1], fileLoongUAPI, suffix)
		}
		if named[suffix] {
			return nil, proc.errorf("Features line: HWCAP_LOONGARCH_%s named twice", suffix)
		}
		named[suffix] = true
		out = append(out, feature{Name: m[2], Macro: b.macro, Word: 0, Bit: b.bit})
	}
	for suffix, b := range bySuffix {
		if !named[suffix] {
			return nil, proc.errorf("Features line has no name for %s", b.macro)
		}
	}
	return out, nil
}
