package harness

import (
	"math"
	"slices"
)

// Summary is the median and quartiles of a sample.
type Summary struct {
	Median float64 `json:"median"`
	P25    float64 `json:"p25"`
	P75    float64 `json:"p75"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// MAD is the median absolute deviation from the median.
	MAD float64 `json:"mad"`
	// CILo and CIHi bound a 95% confidence interval of the median (order
	// statistics, distribution-free); equal to Min and Max below 6 samples.
	CILo float64 `json:"ci95_lo"`
	CIHi float64 `json:"ci95_hi"`
	N    int     `json:"n"`
}

// Summarize returns the Summary of xs (which it does not modify). An empty
// sample gives the zero Summary (N = 0), which JSON can encode.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := Quantile(s, 0.5)
	dev := make([]float64, len(s))
	for i, x := range s {
		dev[i] = math.Abs(x - med)
	}
	slices.Sort(dev)
	lo, hi := MedianCI(s)
	return Summary{
		Median: med,
		P25:    Quantile(s, 0.25),
		P75:    Quantile(s, 0.75),
		Min:    s[0],
		Max:    s[len(s)-1],
		MAD:    Quantile(dev, 0.5),
		CILo:   lo,
		CIHi:   hi,
		N:      len(s),
	}
}

// MedianCI returns a 95% confidence interval of the median of the sorted
// sample s: the order statistics at ranks n/2 ± 1.96·√n/2 (the normal
// approximation to the binomial; no assumption about the distribution).
func MedianCI(s []float64) (lo, hi float64) {
	n := len(s)
	k := int(math.Floor((float64(n) - 1.96*math.Sqrt(float64(n))) / 2))
	if n < 6 || k < 0 {
		return s[0], s[n-1]
	}
	return s[k], s[n-1-k]
}

// Quantile returns the q-quantile (0 <= q <= 1) of the sorted sample s by
// linear interpolation between closest ranks (R's type 7, numpy's
// default). s must be sorted and non-empty.
func Quantile(s []float64, q float64) float64 {
	if len(s) == 1 {
		return s[0]
	}
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// Pairs holds the two halves of paired runs, in seconds.
type Pairs struct {
	A, B []float64
}

// Add appends one pair.
func (p *Pairs) Add(a, b float64) {
	p.A = append(p.A, a)
	p.B = append(p.B, b)
}

// Ratios returns B[i]/A[i] for every pair.
func (p *Pairs) Ratios() []float64 {
	out := make([]float64, len(p.A))
	for i := range p.A {
		out[i] = p.B[i] / p.A[i]
	}
	return out
}

// Diffs returns B[i]-A[i] for every pair.
func (p *Pairs) Diffs() []float64 {
	out := make([]float64, len(p.A))
	for i := range p.A {
		out[i] = p.B[i] - p.A[i]
	}
	return out
}
