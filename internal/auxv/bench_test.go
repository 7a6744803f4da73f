package auxv_test

import (
	"os"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// Benchmarks for make bench (never timed assertions): the codec on real
// dumps, and what a masking process pays for reading and rewriting its
// own saved vector.

func benchDump(b *testing.B, name string) []byte {
	b.Helper()
	raw, err := os.ReadFile("testdata/" + name + ".bin")
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"arm64-neoverse-n1", "x86_64-host"} {
		raw := benchDump(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := auxv.Decode(raw, auxv.LE64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	v, err := auxv.Decode(benchDump(b, "arm64-neoverse-n1"), auxv.LE64)
	if err != nil {
		b.Fatal(err)
	}
	keep := hwcap.All
	keep[0] &^= 1 << 22 // hide one feature, as a mask would
	for b.Loop() {
		if _, err := v.Masked(keep).Encode(auxv.LE64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadSelf(b *testing.B) {
	for b.Loop() {
		if _, err := auxv.ReadSelf(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply rewrites this process's saved vector with every word
// kept (so the test binary's own view does not change) through each path
// it may use: read, encode, prctl, re-read and verify.
func BenchmarkApply(b *testing.B) {
	for _, p := range auxv.AvailablePaths() {
		b.Run(string(p), func(b *testing.B) {
			for b.Loop() {
				if _, err := auxv.Apply(hwcap.All, p); err != nil {
					b.Fatalf("apply through %s: %v (needs root or CAP_SYS_RESOURCE)", p, err)
				}
			}
		})
	}
}
