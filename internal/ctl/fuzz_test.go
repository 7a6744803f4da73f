package ctl

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzExplain feeds explain's MASK argument (what a user pastes from an
// annotation): never a panic, exit 0 or 2, and on 2 one stderr line.
func FuzzExplain(f *testing.F) {
	for _, s := range []string{"hwcap2=0x0", "hwcap=0x119fff,hwcap2=0", "deny:paca,pacg", "allow:fp,asimd", "allow:", "deny:sve3", "hwcap=", "hwcap5=1", "x=y=z", "allow:FP", "deny:ѕve"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, mask string) {
		if strings.HasPrefix(mask, "-") || strings.ContainsAny(mask, "/\x00") || !strings.ContainsAny(mask, ":=") {
			return // flags and file names are not what this target is about
		}
		var out, errb bytes.Buffer
		code := mainEnv(&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, []string{"explain", "--arch", "arm64", "--json", "--", mask})
		switch code {
		case ExitOK:
			if !strings.Contains(out.String(), `"hidden"`) {
				t.Fatalf("exit 0 without a report: %q", out.String())
			}
		case ExitUsage:
			if strings.Count(errb.String(), "\n") != 1 || out.Len() != 0 {
				t.Fatalf("bad input: stdout %q, stderr %q", out.String(), errb.String())
			}
		default:
			t.Fatalf("exit %d for %q: %s", code, mask, errb.String())
		}
	})
}
