package harness

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// GoBench is one Go benchmark over its -count runs.
type GoBench struct {
	Pkg    string  `json:"pkg"`
	Name   string  `json:"name"` // without the -GOMAXPROCS suffix
	NsOp   Summary `json:"ns_op"`
	BOp    float64 `json:"b_op"`      // median
	Allocs float64 `json:"allocs_op"` // median
}

// ParseGoBench reads `go test -bench -benchmem` output (the format
// benchstat reads) and summarises each benchmark's runs, in the order
// they first appear.
func ParseGoBench(r io.Reader) ([]GoBench, error) {
	type acc struct {
		pkg, name   string
		ns, b, allc []float64
	}
	var order []string
	accs := map[string]*acc{}
	pkg := ""
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := s.Text()
		if v, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(v)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line (e.g. a log line)
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		key := pkg + "." + name
		a := accs[key]
		if a == nil {
			a = &acc{pkg: pkg, name: name}
			accs[key] = a
			order = append(order, key)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("go bench line %q: value %q: %w", line, f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "B/op":
				a.b = append(a.b, v)
			case "allocs/op":
				a.allc = append(a.allc, v)
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	out := make([]GoBench, 0, len(order))
	for _, k := range order {
		a := accs[k]
		out = append(out, GoBench{Pkg: a.pkg, Name: a.name, NsOp: Summarize(a.ns), BOp: Summarize(a.b).Median, Allocs: Summarize(a.allc).Median})
	}
	return out, nil
}
