package hwcap

import "sort"

// Suggest returns up to three known feature names closest to name by edit
// distance, for "did you mean" messages.
func (t *Table) Suggest(name string) []string {
	type cand struct {
		name string
		d    int
	}
	limit := len(name)/2 + 1
	var cs []cand
	for _, f := range t.Features {
		if d := EditDistance(name, f.Name); d <= limit {
			cs = append(cs, cand{f.Name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// EditDistance is the Levenshtein distance of a and b, in bytes, for "did
// you mean" suggestions. b is a known short name; a tenant-supplied a longer
// than 64 bytes is not compared (its distance is at least len(a)-len(b)
// anyway) and yields len(a), so the cost stays O(64*len(b)).
func EditDistance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
