package hwcap

import (
	"bytes"
	"os"
	"testing"
)

// Benchmarks for make bench (never timed assertions): what a hook or the
// wrapper pays to turn a request into an AND mask.

func benchProfile(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile("../../examples/profiles/neoverse-n1.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchTable(b *testing.B, arch string) *Table {
	b.Helper()
	t, err := Lookup(arch)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func BenchmarkParseProfile(b *testing.B) {
	data := benchProfile(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseProfile(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProfileKeep is mask resolution from a parsed profile.
func BenchmarkProfileKeep(b *testing.B) {
	p, err := ParseProfile(bytes.NewReader(benchProfile(b)))
	if err != nil {
		b.Fatal(err)
	}
	t := benchTable(b, "arm64")
	for b.Loop() {
		if _, err := p.Keep(t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpecResolve(b *testing.B) {
	t := benchTable(b, "arm64")
	host := Words{0x119fff, 0, 0, 0}
	for name, s := range map[string]Spec{
		"deny":  {Deny: []string{"sve2", "sve"}},
		"allow": {Allow: []string{"fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2", "crc32", "atomics", "fphp", "asimdhp", "cpuid", "asimdrdm", "lrcpc", "dcpop", "asimddp"}},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Resolve(t, host); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseRaw(b *testing.B) {
	for b.Loop() {
		if _, _, err := ParseRaw("hwcap=0x119fff,hwcap2=0x0"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	t := benchTable(b, "arm64")
	w := Words{0x119fff, 0, 0, 0}
	for b.Loop() {
		_ = t.Render(w)
	}
}
