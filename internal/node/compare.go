package node

// Verdicts of Compare, in libvirt's cpu-compare vocabulary.
const (
	Identical    = "identical"    // the host has exactly the wanted features
	Superset     = "superset"     // the host has all wanted features and more
	Incompatible = "incompatible" // the host lacks at least one wanted feature
)

// Comparison is the verdict of a wanted feature set against a host.
type Comparison struct {
	Verdict  string
	Arch     string   // the wanted set's architecture
	HostArch string   // the host's architecture
	Blocking []string // wanted features the host lacks (the restore would SIGILL)
	Extra    []string // host features beyond the wanted set (masked away)
}

// Compare says whether host can run (or restore) a container that uses
// want's features. Only bits the table names count on both sides, so a
// host whose newer kernel has extra unnamed bits is still identical. A
// different architecture is incompatible with no blocking list.
func Compare(want, host *Node) (*Comparison, error) {
	c := &Comparison{Arch: want.Arch, HostArch: host.Arch}
	if want.Arch != host.Arch {
		c.Verdict = Incompatible
		return c, nil
	}
	t, err := want.Table()
	if err != nil {
		return nil, err
	}
	w, h := want.Words.And(t.Known()), host.Words.And(t.Known())
	c.Blocking = t.Missing(w, h)
	c.Extra = t.Missing(h, w)
	switch {
	case len(c.Blocking) > 0:
		c.Verdict = Incompatible
	case len(c.Extra) > 0:
		c.Verdict = Superset
	default:
		c.Verdict = Identical
	}
	return c, nil
}

// Compatible reports whether the verdict lets the container run.
func (c *Comparison) Compatible() bool { return c.Verdict != Incompatible }
