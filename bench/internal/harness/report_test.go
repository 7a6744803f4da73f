package harness

import (
	"bytes"
	"strings"
	"testing"
)

func TestEvalTargets(t *testing.T) {
	r := &Report{
		Results: []*Result{
			{Key: "run-wrapper-none", Name: "wrapper none", Group: GroupRun, Pairs: 50, Ratio: Summary{Median: 1.015}},
			{Key: "run-hook-none", Name: "hook none", Group: GroupRun, Pairs: 50, Ratio: Summary{Median: 1.031}},
			{Key: "run-wrapper-mask", Name: "wrapper mask", Group: GroupRun, Pairs: 50, Diff: Summary{Median: 0.8}},
			{Key: "exec-hook-ann", Name: "hook ann", Group: GroupExec, Pairs: 200, B: Summary{Median: 3.2}, MaxRSS: &Summary{Median: 3072}},
		},
		GoBench: []GoBench{{Pkg: "github.com/hwcap/hwcap/internal/probe", Name: "BenchmarkCached", NsOp: Summary{Median: 31000, N: 10}}},
	}
	r.EvalTargets()
	want := map[string]bool{
		"no-annotation overhead: wrapper none":              true,
		"no-annotation overhead: hook none":                 false,
		"masked/annotated container overhead: wrapper mask": true,
		"cached probe (probe.Cached hit)":                   true,
		"hook run: hook ann":                                false,
	}
	if len(r.Targets) != len(want) {
		t.Fatalf("targets %+v", r.Targets)
	}
	for _, tg := range r.Targets {
		met, ok := want[tg.Name]
		if !ok || met != tg.Met {
			t.Errorf("target %q met=%v (measured %v %s), want %v (known: %v)", tg.Name, tg.Met, tg.Measured, tg.Unit, met, ok)
		}
	}
	var b bytes.Buffer
	r.Markdown(&b)
	for _, s := range []string{"| wrapper none | ", "| hook ann | ", " 3.0 |", "| probe | Cached | 31000 ", "| hook run: hook ann | 3.20 ms | 3 ms | **no** |"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, b.String())
		}
	}
}
