package harness

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Report is everything one `make bench` measured.
type Report struct {
	Date    string  `json:"date"`
	Command string  `json:"command"`
	Machine Machine `json:"machine"`
	Payload string  `json:"payload"`
	Feature string  `json:"masked_feature"`
	Nice    string  `json:"nice,omitempty"`
	// BaselineBin is the baseline build of the build group, if any.
	BaselineBin string    `json:"baseline_bin,omitempty"`
	Results     []*Result `json:"results"`
	GoBench     []GoBench `json:"go_benchmarks"`
	Sizes       []Size    `json:"binary_sizes"`
	Targets     []Target  `json:"targets"`
	Duration    string    `json:"duration"`
}

// Size is one built binary.
type Size struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// Target is one of the goals and whether this run met it.
type Target struct {
	Name     string  `json:"name"`
	Measured float64 `json:"measured"` // the median
	CILo     float64 `json:"ci95_lo"`  // 95% confidence interval of the median
	CIHi     float64 `json:"ci95_hi"`
	Limit    float64 `json:"limit"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"` // the median is within the limit
	// Verdict is "met" (the whole interval is within the limit), "missed"
	// (all of it is above) or "inconclusive" (the limit is inside it).
	Verdict string `json:"verdict"`
	Basis   string `json:"basis"`
}

// BinarySizes lists the regular files in dir.
func BinarySizes(dir string) ([]Size, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Size
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, Size{Name: filepath.Join(filepath.Base(dir), e.Name()), Bytes: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Result returns the result with key, or nil.
func (r *Report) Result(key string) *Result {
	for _, x := range r.Results {
		if x.Key == key {
			return x
		}
	}
	return nil
}

// EvalTargets fills r.Targets from the results present.
func (r *Report) EvalTargets() {
	r.Targets = nil
	add := func(name string, s Summary, scale func(float64) float64, limit float64, unit, basis string) {
		t := Target{Name: name, Measured: scale(s.Median), CILo: scale(s.CILo), CIHi: scale(s.CIHi),
			Limit: limit, Unit: unit, Basis: basis}
		t.Met = t.Measured <= limit
		switch {
		case t.CIHi <= limit:
			t.Verdict = "met"
		case t.CILo > limit:
			t.Verdict = "missed"
		default:
			t.Verdict = "inconclusive"
		}
		r.Targets = append(r.Targets, t)
	}
	same := func(v float64) float64 { return v }
	for _, k := range []string{"run-wrapper-none", "run-hook-none"} {
		if x := r.Result(k); x != nil {
			add("no-annotation overhead: "+x.Name, x.Ratio, func(v float64) float64 { return (v - 1) * 100 }, 2, "%",
				"median of per-pair ratio to plain `runc run`, minus 1")
		}
	}
	for _, k := range []string{"run-wrapper-mask", "run-hook-ann", "run-shim"} {
		if x := r.Result(k); x != nil {
			add("masked/annotated container overhead: "+x.Name, x.Diff, same, 1, "ms", "median of per-pair difference to plain `runc run`")
		}
	}
	for _, g := range r.GoBench {
		if strings.HasSuffix(g.Pkg, "/probe") && g.Name == "BenchmarkCached" {
			add("cached probe (probe.Cached hit)", g.NsOp, func(v float64) float64 { return v / 1000 }, 50, "µs", "median ns/op of BenchmarkCached runs")
		}
	}
	for _, k := range []string{"exec-hook-ann", "exec-hook-poststart", "exec-hook-none"} {
		if x := r.Result(k); x != nil {
			add("hook run: "+x.Name, x.B, same, 3, "ms", "median wall time, fork to reaped exit")
		}
	}
}

// WriteJSON writes the report to path (creating its directory).
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Markdown writes the report as the tables docs/benchmarks.md carries.
func (r *Report) Markdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "Run %s (%s) with `%s`.\n\n", r.Date, r.Duration, r.Command)
	fmt.Fprintf(w, "Machine: %d CPUs, %s, kernel %s, %s, harness built with %s; load average at start %s, at end %s%s.\n",
		m.NProc, m.CPU, m.Kernel, m.Runc, m.Go, m.LoadStart, m.LoadEnd, niceNote(r.Nice))
	fmt.Fprintf(w, "Payload: %s. Masked cases hide `%s` with `hwcap.dev/policy: warn` (this kernel does not pass masks on, so the container runs, unmasked, after the full mask path).\n", r.Payload, r.Feature)
	for _, g := range []struct{ group, title, aCol string }{
		{GroupRun, "`runc run` of the static payload, paired with plain `runc run`", "plain runc"},
		{GroupState, "`state` of a created container, paired with plain `runc state`", "plain runc"},
		{GroupExec, "Each component on its own, paired with a bare fork+exec of the payload", "bare exec"},
		{GroupBuild, "This build against the baseline build in " + "`" + r.BaselineBin + "`", "baseline"},
	} {
		var rows []*Result
		for _, x := range r.Results {
			if x.Group == g.group {
				rows = append(rows, x)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n#### %s (%d pairs each, A B A B …)\n\n", g.title, rows[0].Pairs)
		rss := g.group == GroupExec
		fmt.Fprintf(w, "| case | %s ms | case ms | ratio median [p25, p75] | Δ ms median [p25, p75] |", g.aCol)
		if rss {
			fmt.Fprint(w, " peak RSS MiB |")
		}
		fmt.Fprint(w, "\n|---|---:|---:|---:|---:|")
		if rss {
			fmt.Fprint(w, "---:|")
		}
		fmt.Fprintln(w)
		for _, x := range rows {
			fmt.Fprintf(w, "| %s | %.2f | %.2f | %.3f [%.3f, %.3f] | %+.2f [%+.2f, %+.2f] |",
				x.Name, x.A.Median, x.B.Median, x.Ratio.Median, x.Ratio.P25, x.Ratio.P75, x.Diff.Median, x.Diff.P25, x.Diff.P75)
			if rss {
				if x.MaxRSS != nil {
					fmt.Fprintf(w, " %.1f |", x.MaxRSS.Median/1024)
				} else {
					fmt.Fprint(w, " n/a |")
				}
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.GoBench) > 0 {
		fmt.Fprintf(w, "\n#### Go benchmarks (`go test -bench`, median of %d runs [min, max])\n\n", r.GoBench[0].NsOp.N)
		fmt.Fprintln(w, "| package | benchmark | ns/op | B/op | allocs/op |")
		fmt.Fprintln(w, "|---|---|---:|---:|---:|")
		for _, g := range r.GoBench {
			fmt.Fprintf(w, "| %s | %s | %s [%s, %s] | %.0f | %.0f |\n", filepath.Base(g.Pkg), strings.TrimPrefix(g.Name, "Benchmark"),
				num(g.NsOp.Median), num(g.NsOp.Min), num(g.NsOp.Max), g.BOp, g.Allocs)
		}
	}
	if len(r.Sizes) > 0 {
		fmt.Fprintln(w, "\n#### Binary sizes (`make build`: static, -trimpath, -s -w)\n\n| binary | bytes | MiB |\n|---|---:|---:|")
		for _, s := range r.Sizes {
			fmt.Fprintf(w, "| %s | %d | %.1f |\n", s.Name, s.Bytes, float64(s.Bytes)/(1<<20))
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\n#### Targets\n\n| target | median [95% CI] | limit | verdict | basis |\n|---|---:|---:|---|---|")
		for _, t := range r.Targets {
			v := t.Verdict
			if v != "met" {
				v = "**" + v + "**"
			}
			fmt.Fprintf(w, "| %s | %.2f [%.2f, %.2f] %s | %g %s | %s | %s |\n", t.Name, t.Measured, t.CILo, t.CIHi, t.Unit, t.Limit, t.Unit, v, t.Basis)
		}
	}
}

func niceNote(n string) string {
	if n == "" {
		return ""
	}
	return "; run under `" + n + "`"
}

func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// Now is the report's timestamp format.
func Now() string { return time.Now().UTC().Format("2006-01-02 15:04 UTC") }
