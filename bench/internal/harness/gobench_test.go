package harness

import (
	"strings"
	"testing"
)

const sampleGoBench = `goos: linux
goarch: amd64
pkg: github.com/hwcap/hwcap/internal/probe
cpu: AMD EPYC
BenchmarkCached-2   	   60000	     20000 ns/op	    4000 B/op	      50 allocs/op
BenchmarkCached-2   	   60000	     22000 ns/op	    4000 B/op	      50 allocs/op
BenchmarkCached-2   	   60000	     21000 ns/op	    4000 B/op	      50 allocs/op
PASS
ok  	github.com/hwcap/hwcap/internal/probe	5.1s
pkg: github.com/hwcap/hwcap/internal/config
BenchmarkRequest/deny-2         	  100000	      1500 ns/op	     300 B/op	       9 allocs/op
BenchmarkRequest/deny-2         	  100000	      1700 ns/op	     300 B/op	       9 allocs/op
BenchmarkRequest/no-annotation  	 9000000	        12.5 ns/op
some log line Benchmark noise
`

func TestParseGoBench(t *testing.T) {
	got, err := ParseGoBench(strings.NewReader(sampleGoBench))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pkg, name    string
		ns, b, allcs float64
		n            int
	}{
		{"github.com/hwcap/hwcap/internal/probe", "BenchmarkCached", 21000, 4000, 50, 3},
		{"github.com/hwcap/hwcap/internal/config", "BenchmarkRequest/deny", 1600, 300, 9, 2},
		{"github.com/hwcap/hwcap/internal/config", "BenchmarkRequest/no-annotation", 12.5, 0, 0, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d benchmarks: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Pkg != w.pkg || g.Name != w.name || g.NsOp.Median != w.ns || g.NsOp.N != w.n {
			t.Errorf("#%d = %+v, want %+v", i, g, w)
		}
		if w.n > 1 && (g.BOp != w.b || g.Allocs != w.allcs) {
			t.Errorf("#%d B/op %v allocs %v, want %v %v", i, g.BOp, g.Allocs, w.b, w.allcs)
		}
	}
}

func TestParseGoBenchBadValue(t *testing.T) {
	_, err := ParseGoBench(strings.NewReader("BenchmarkX-2 10 abc ns/op\n"))
	if err == nil || !strings.Contains(err.Error(), `value "abc"`) {
		t.Fatalf("err = %v", err)
	}
}
