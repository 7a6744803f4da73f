package harness

import (
	"fmt"
	"io"
	"time"
)

// Result is the outcome of one Case over N pairs. Times are milliseconds.
type Result struct {
	Key      string  `json:"key"`
	Name     string  `json:"name"`
	Group    string  `json:"group"`
	Baseline string  `json:"baseline"`
	Pairs    int     `json:"pairs"`
	A        Summary `json:"a_ms"`
	B        Summary `json:"b_ms"`
	Ratio    Summary `json:"ratio"`   // B/A per pair
	Diff     Summary `json:"diff_ms"` // B-A per pair
	// MaxRSS is B's peak RSS in KiB (ru_maxrss of the process, forked
	// from a tiny launcher), for the cases that ask for it.
	MaxRSS *Summary `json:"b_maxrss_kib,omitempty"`
}

// Measure runs warmup unrecorded pairs, then n pairs of c, alternating
// A and B (A B A B ...), so that slow drift of the machine affects both.
func Measure(c Case, n, warmup int, progress io.Writer) (*Result, error) {
	var p Pairs
	start := time.Now()
	for i := 0; i < warmup+n; i++ {
		a, err := c.A().Run()
		if err != nil {
			return nil, fmt.Errorf("%s: baseline: %w", c.Name, err)
		}
		b, err := c.B().Run()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if i < warmup {
			continue
		}
		p.Add(ms(a.Wall), ms(b.Wall))
	}
	var rss []float64
	if c.RSS != nil {
		for i := 0; i < rssRuns; i++ {
			s, err := c.RSS().Run()
			if err != nil {
				return nil, fmt.Errorf("%s: peak RSS: %w", c.Name, err)
			}
			rss = append(rss, float64(s.MaxRSS))
		}
	}
	r := &Result{
		Key: c.Key, Name: c.Name, Group: c.Group, Baseline: c.Baseline, Pairs: n,
		A: Summarize(p.A), B: Summarize(p.B), Ratio: Summarize(p.Ratios()), Diff: Summarize(p.Diffs()),
	}
	if len(rss) > 0 {
		s := Summarize(rss)
		r.MaxRSS = &s
	}
	if progress != nil {
		fmt.Fprintf(progress, "  %-55s ratio %.3f [%.3f, %.3f]  +%.2f ms  (%d pairs, %.1fs)\n",
			c.Name, r.Ratio.Median, r.Ratio.P25, r.Ratio.P75, r.Diff.Median, n, time.Since(start).Seconds())
	}
	return r, nil
}

// rssRuns is how many extra, untimed runs measure a case's peak RSS.
const rssRuns = 7

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
