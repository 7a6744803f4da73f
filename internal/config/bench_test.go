package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Benchmarks for make bench (never timed assertions): annotation parsing
// (Request) and mask resolution from a profile file, as the hook and the
// wrapper do them on every annotated container.

func benchNode(b *testing.B) *Node {
	b.Helper()
	data, err := os.ReadFile("../../examples/profiles/neoverse-n1.json")
	if err != nil {
		b.Fatal(err)
	}
	n := Defaults()
	n.DefaultPolicy = "warn"
	n.ProfileDir = b.TempDir()
	if err := os.WriteFile(filepath.Join(n.ProfileDir, "neoverse-n1.json"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkRequest validates annotations against the arm64 table (where
// masks matter) and resolves the AND mask, as Request + Keep do.
func BenchmarkRequest(b *testing.B) {
	n := benchNode(b)
	t, err := hwcap.Lookup("arm64")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ann  map[string]string
	}{
		{"no-annotation", map[string]string{"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "0123456789abcdef"}},
		{"deny", map[string]string{KeyDeny: "sve2,sve", KeyPolicy: "warn"}},
		{"allow", map[string]string{KeyAllow: "fp,asimd,evtstrm,aes,pmull,sha1,sha2,crc32,atomics,fphp,asimdhp,cpuid,asimdrdm,lrcpc,dcpop,asimddp"}},
		{"mask", map[string]string{KeyMask: "hwcap=0x119fff,hwcap2=0x0"}},
		{"profile", map[string]string{KeyProfile: "neoverse-n1"}}, // opens and parses the file
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := n.RequestFor(tc.ann, t)
				if err != nil {
					b.Fatal(err)
				}
				if r != nil {
					if _, err := r.Keep(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkLoadFile reads and validates a node configuration file.
func BenchmarkLoadFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.json")
	data := []byte(`{"defaultPolicy":"enforce","profileDir":"/etc/hwcap/profiles","logFile":"/var/log/hwcap/hwcap.log","runtimes":["runc","crun"],"runDir":"/run/hwcap"}`)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := LoadFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
