package node

import (
	"fmt"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Lack says which features of the union one node does not have.
type Lack struct {
	Node    *Node
	Missing []string
}

// Result of Baseline.
type BaselineResult struct {
	Arch   string
	Common hwcap.Words // features every node has (known bits only)
	Union  hwcap.Words // features some node has (known bits only)
	Lacks  []Lack      // per node with something missing, in input order
}

// Baseline intersects the nodes' feature sets. All nodes must share one
// architecture; the error names each architecture with its files. Only
// bits the table names take part: a profile can only name those.
func Baseline(nodes []*Node) (*BaselineResult, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: baseline needs at least one node description", ErrNoInput)
	}
	byArch := map[string][]string{}
	var order []string
	for _, n := range nodes {
		if _, ok := byArch[n.Arch]; !ok {
			order = append(order, n.Arch)
		}
		byArch[n.Arch] = append(byArch[n.Arch], n.Source)
	}
	if len(order) > 1 {
		parts := make([]string, len(order))
		for i, a := range order {
			parts[i] = a + ": " + strings.Join(byArch[a], ", ")
		}
		return nil, fmt.Errorf("%w: %s (a profile is for one architecture: run baseline once per architecture)", ErrMixedArch, strings.Join(parts, "; "))
	}
	t, err := nodes[0].Table()
	if err != nil {
		return nil, err
	}
	r := &BaselineResult{Arch: t.Arch, Common: t.Known()}
	for _, n := range nodes {
		k := n.Words.And(t.Known())
		r.Common = r.Common.And(k)
		r.Union = r.Union.Or(k)
	}
	for _, n := range nodes {
		if miss := t.Missing(r.Union, n.Words); len(miss) > 0 {
			r.Lacks = append(r.Lacks, Lack{Node: n, Missing: miss})
		}
	}
	return r, nil
}
