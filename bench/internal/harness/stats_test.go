package harness

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for name, tc := range map[string]struct {
		q, want float64
	}{
		"min":    {0, 1},
		"max":    {1, 10},
		"median": {0.5, 5.5},
		"p25":    {0.25, 3.25},
		"p75":    {0.75, 7.75},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Quantile(s, tc.q); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
	if got := Quantile([]float64{42}, 0.25); got != 42 {
		t.Errorf("one element: %v", got)
	}
}

func TestSummarize(t *testing.T) {
	for name, tc := range map[string]struct {
		in   []float64
		want Summary
	}{
		"odd unsorted": {[]float64{5, 1, 3}, Summary{Median: 3, P25: 2, P75: 4, Min: 1, Max: 5, MAD: 2, CILo: 1, CIHi: 5, N: 3}},
		"outlier":      {[]float64{1, 1, 2, 2, 4, 6, 9}, Summary{Median: 2, P25: 1.5, P75: 5, Min: 1, Max: 9, MAD: 1, CILo: 1, CIHi: 9, N: 7}},
		"constant":     {[]float64{7, 7, 7, 7}, Summary{Median: 7, P25: 7, P75: 7, Min: 7, Max: 7, MAD: 0, CILo: 7, CIHi: 7, N: 4}},
	} {
		t.Run(name, func(t *testing.T) {
			orig := append([]float64(nil), tc.in...)
			if got := Summarize(tc.in); got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range orig {
				if orig[i] != tc.in[i] {
					t.Fatalf("Summarize sorted its input: %v", tc.in)
				}
			}
		})
	}
	if s := Summarize(nil); s != (Summary{}) {
		t.Errorf("empty: %+v", s)
	}
}

func TestPairs(t *testing.T) {
	var p Pairs
	p.Add(0.100, 0.102)
	p.Add(0.200, 0.190)
	r, d := p.Ratios(), p.Diffs()
	if math.Abs(r[0]-1.02) > 1e-12 || math.Abs(r[1]-0.95) > 1e-12 {
		t.Errorf("ratios %v", r)
	}
	if math.Abs(d[0]-0.002) > 1e-12 || math.Abs(d[1]+0.010) > 1e-12 {
		t.Errorf("diffs %v", d)
	}
}

func TestMedianCI(t *testing.T) {
	s := make([]float64, 100)
	for i := range s {
		s[i] = float64(i)
	}
	// n = 100: k = floor((100 - 19.6) / 2) = 40, ranks 40 and 59.
	if lo, hi := MedianCI(s); lo != 40 || hi != 59 {
		t.Errorf("MedianCI(0..99) = [%v, %v], want [40, 59]", lo, hi)
	}
	if lo, hi := MedianCI(s[:5]); lo != 0 || hi != 4 {
		t.Errorf("small sample: [%v, %v], want the range", lo, hi)
	}
}
