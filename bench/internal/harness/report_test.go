package harness

import (
	"bytes"
	"strings"
	"testing"
)

func TestEvalTargets(t *testing.T) {
	r := &Report{
		Results: []*Result{
			{Key: "run-wrapper-none", Name: "wrapper none", Group: GroupRun, Pairs: 50, Ratio: Summary{Median: 1.015, CILo: 1.01, CIHi: 1.03}},
			{Key: "run-hook-none", Name: "hook none", Group: GroupRun, Pairs: 50, Ratio: Summary{Median: 1.031, CILo: 1.025, CIHi: 1.04}},
			{Key: "run-wrapper-mask", Name: "wrapper mask", Group: GroupRun, Pairs: 50, Diff: Summary{Median: 0.8, CILo: 0.5, CIHi: 0.9}},
			{Key: "exec-hook-ann", Name: "hook ann", Group: GroupExec, Pairs: 200, B: Summary{Median: 3.2, CILo: 3.1, CIHi: 3.3}, MaxRSS: &Summary{Median: 3072}},
		},
		GoBench: []GoBench{{Pkg: "github.com/hwcap/hwcap/internal/probe", Name: "BenchmarkCached", NsOp: Summary{Median: 31000, CILo: 30000, CIHi: 32000, N: 10}}},
	}
	r.EvalTargets()
	want := map[string]struct {
		met     bool
		verdict string
	}{
		"no-annotation overhead: wrapper none":              {true, "inconclusive"}, // CI 1% .. 3%
		"no-annotation overhead: hook none":                 {false, "missed"},
		"masked/annotated container overhead: wrapper mask": {true, "met"},
		"cached probe (probe.Cached hit)":                   {true, "met"},
		"hook run: hook ann":                                {false, "missed"},
	}
	if len(r.Targets) != len(want) {
		t.Fatalf("targets %+v", r.Targets)
	}
	for _, tg := range r.Targets {
		w, ok := want[tg.Name]
		if !ok || w.met != tg.Met || w.verdict != tg.Verdict {
			t.Errorf("target %q: met=%v verdict=%q (measured %v %s), want %+v (known: %v)", tg.Name, tg.Met, tg.Verdict, tg.Measured, tg.Unit, w, ok)
		}
	}
	var b bytes.Buffer
	r.Markdown(&b)
	for _, s := range []string{"| wrapper none | ", "| hook ann | ", " 3.0 |", "| probe | Cached | 31000 ",
		"| hook run: hook ann | 3.20 [3.10, 3.30] ms | 3 ms | **missed** |", "| cached probe (probe.Cached hit) | 31.00 [30.00, 32.00] µs | 50 µs | met |"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, b.String())
		}
	}
}
