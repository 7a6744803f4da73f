package probe

import "testing"

// BenchmarkCached is the probe's per-container path once this boot's
// result is stored: open, check ownership, read and validate probe.json.
// (make bench reports it against the 50 µs target; it is not a test.)
func BenchmarkCached(b *testing.B) {
	dir := b.TempDir()
	if _, err := Cached(dir); err != nil { // probes and stores
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := Cached(dir)
		if err != nil {
			b.Fatal(err)
		}
		if r.Cache != "hit" {
			b.Fatalf("cache %q, want a hit", r.Cache)
		}
	}
}
