package node_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

func TestDescriptionRoundTrip(t *testing.T) {
	for _, name := range captures(t) {
		t.Run(name, func(t *testing.T) {
			n := parseCapture(t, name)
			n.Hostname, n.Kernel = "node-1", "6.1.0-test"
			var buf bytes.Buffer
			if err := n.Encode(&buf); err != nil {
				t.Fatal(err)
			}
			back, err := node.Parse("desc.json", buf.Bytes())
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if back.Kind != node.KindNode || back.Arch != n.Arch || back.Words != n.Words ||
				back.Model != n.Model || back.Hostname != "node-1" || back.Kernel != "6.1.0-test" {
				t.Errorf("round trip changed the node:\n got %+v\nwant %+v", back, n)
			}
		})
	}
}

func TestProfileInput(t *testing.T) {
	prof := `{"version":"hwcap.dev/v1","arch":"aarch64","description":"n1","allow":["fp","asimd","sve2"]}`
	n, err := node.Parse("p.json", []byte(prof))
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := hwcap.Lookup("arm64")
	want, _ := tab.Bits([]string{"fp", "asimd", "sve2"})
	if n.Kind != node.KindProfile || n.Arch != "arm64" || n.Words != want || n.Model != "n1" {
		t.Errorf("profile node %+v", n)
	}
}

func TestDescriptionOnlyFeatures(t *testing.T) {
	n, err := node.Parse("d.json", []byte(`{"version":"hwcap.dev/v1","kind":"node","arch":"arm64","features":["fp","sve2","hwcap3:bit62"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if n.Words[0] != 1 || n.Words[1] != 2 || n.Words[2] != 1<<62 {
		t.Errorf("words %s", n.Words)
	}
}

func TestParseErrors(t *testing.T) {
	const head = `{"version":"hwcap.dev/v1","kind":"node","arch":"arm64",`
	cases := map[string]struct {
		in      string
		wantErr string // substring; the token and a fix
	}{
		"empty":             {"  \n", "empty (want /proc/cpuinfo"},
		"not cpuinfo":       {"hello world\n", `no "Features" (arm64) or "flags" (x86) line`},
		"bad json":          {`{"version":`, "unexpected EOF"},
		"unknown field":     {head + `"features":[],"colour":"red"}`, `unknown field "colour"`},
		"trailing":          {head + `"features":[]} {}`, "trailing data"},
		"version":           {`{"version":"v2","kind":"node","arch":"arm64","features":[]}`, `version "v2" (want "hwcap.dev/v1")`},
		"kind":              {`{"version":"hwcap.dev/v1","kind":"pod","arch":"arm64","features":[]}`, `kind "pod" (want "node")`},
		"arch":              {`{"version":"hwcap.dev/v1","kind":"node","arch":"mips","features":[]}`, `unknown architecture "mips"`},
		"no features":       {head + `"words":{"hwcap":"0x1"}}`, `no "features" list`},
		"typo feature":      {head + `"features":["fp","sve3"]}`, `unknown feature "sve3" for arm64 (did you mean`},
		"bad char":          {head + `"features":["fp;rm"]}`, `has character ';'`},
		"word name":         {head + `"words":{"hwcap5":"0x0"},"features":[]}`, `unknown word "hwcap5"`},
		"word value":        {head + `"words":{"hwcap":"lots"},"features":[]}`, `"lots" is not a 64-bit number`},
		"disagree":          {head + `"words":{"hwcap":"0x1"},"features":["fp","asimd"]}`, "listed but not in words [asimd]"},
		"known as bit":      {head + `"features":["hwcap:bit0"]}`, `is the known feature "fp"`},
		"control char":      {head + `"model":"a\u0007b","features":[]}`, "control characters"},
		"both lines":        {"Features\t: fp\nflags\t\t: fpu\n", `both "Features" (arm64) and "flags" (x86)`},
		"cpuinfo bad token": {"Features\t: fp AES\n", `feature name "AES" has character 'A'`},
		"arm32":             {"Features\t: half thumb fastmult vfp\nCPU architecture: 7\n", "32-bit arm, not supported"},
		"profile":           {`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","sve9"]}`, `unknown feature "sve9"`},
		"long line":         {"Features\t: " + strings.Repeat("fp ", node.MaxLineLen) + "\n", "token too long"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n, err := node.Parse("input.txt", []byte(tc.in))
			if err == nil {
				t.Fatalf("accepted: %+v", n)
			}
			if !errors.Is(err, node.ErrBadInput) {
				t.Errorf("error %v does not wrap ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "input.txt") {
				t.Errorf("error %q\nwant it to name input.txt and contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestCPUInfoUnknownAndIntersection(t *testing.T) {
	in := "processor\t: 0\nFeatures\t: fp asimd sve futurefeat\n\nprocessor\t: 1\nFeatures\t: fp asimd futurefeat\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
	n, err := node.ParseCPUInfo("c.txt", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(n.Names(), " "); got != "fp asimd" {
		t.Errorf("features %q, want the intersection of the processors: fp asimd", got)
	}
	if strings.Join(n.Unknown, " ") != "futurefeat" {
		t.Errorf("unknown %v", n.Unknown)
	}
	if n.Model != "Neoverse-N1" {
		t.Errorf("model %q", n.Model)
	}
}

func TestReadFileStdinAndMissing(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(captureDir, "arm64-ref-graviton2-neoverse-n1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.ReadFile("-", bytes.NewReader(data))
	if err != nil || n.Arch != "arm64" || n.Source != "-" {
		t.Fatalf("stdin: %+v %v", n, err)
	}
	if _, err := node.ReadFile(filepath.Join(t.TempDir(), "nope"), nil); !errors.Is(err, node.ErrBadInput) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParseCPUInfo(f *testing.F) {
	ents, _ := os.ReadDir(captureDir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(captureDir, e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Features\t: fp asimd\nCPU architecture: 7\n"))
	f.Add([]byte("flags : fpu sse2 fsgsbase\nflags : fpu\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := node.ParseCPUInfo("fuzz", data)
		if err != nil {
			if !errors.Is(err, node.ErrBadInput) {
				t.Fatalf("error does not wrap ErrBadInput: %v", err)
			}
			return
		}
		tab, err := n.Table()
		if err != nil {
			t.Fatal(err)
		}
		if !n.Words.SubsetOf(tab.Known()) {
			t.Fatalf("words %s outside the table", n.Words)
		}
		// Whatever parses must survive the JSON round trip unchanged.
		var buf bytes.Buffer
		if err := n.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := node.ParseDescription("rt", buf.Bytes())
		if err != nil {
			t.Fatalf("round trip: %v\n%s", err, buf.String())
		}
		if back.Words != n.Words || back.Arch != n.Arch {
			t.Fatalf("round trip changed %s to %s", n.Words, back.Words)
		}
	})
}

func FuzzParseDescription(f *testing.F) {
	f.Add([]byte(`{"version":"hwcap.dev/v1","kind":"node","arch":"arm64","words":{"hwcap":"0x119fff"},"features":["fp","asimd","evtstrm","aes","pmull","sha1","sha2","crc32","atomics","fphp","asimdhp","cpuid","asimdrdm","lrcpc","dcpop","asimddp"]}`))
	f.Add([]byte(`{"version":"hwcap.dev/v1","kind":"node","arch":"amd64","features":["fpu","hwcap4:bit63"]}`))
	f.Add([]byte(`{"version":"hwcap.dev/v1","arch":"arm64","allow":["sve2"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := node.Parse("fuzz", data)
		if err != nil {
			if !errors.Is(err, node.ErrBadInput) {
				t.Fatalf("error does not wrap ErrBadInput: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := n.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := node.ParseDescription("rt", buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse of our own output: %v\n%s", err, buf.String())
		}
		if back.Words != n.Words || back.Arch != n.Arch {
			t.Fatalf("round trip changed %s to %s", n.Words, back.Words)
		}
	})
}
