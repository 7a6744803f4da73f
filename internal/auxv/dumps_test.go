package auxv_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// dump is one testdata/NAME.bin capture of a real /proc/self/auxv with what
// its NAME.txt sidecar says about it (see test/vm/capture-auxv.sh).
type dump struct {
	name    string
	raw     []byte
	format  auxv.Format
	arch    string
	words   hwcap.Words          // expected AT_HWCAPn values (0 when absent)
	present [hwcap.NumWords]bool // which AT_HWCAPn entries the kernel passed
	meta    map[string]string    // every "key: value" line of the sidecar
	cpuinfo []byte               // NAME.cpuinfo, if captured
}

// requiredDumps must exist: losing one of them loses coverage silently.
var requiredDumps = []string{"arm64-cpu-max", "arm64-neoverse-n1", "x86_64-tcg", "x86_64-host"}

var formats = map[string]auxv.Format{
	"LE64": auxv.LE64,
	"BE64": auxv.BE64,
	"LE32": {WordSize: 4, Order: binary.LittleEndian},
	"BE32": {WordSize: 4, Order: binary.BigEndian},
}

// parseSidecar reads "key: value" lines; '#' lines and blank lines are
// comments. The at_hwcapN keys hold "0x..." or "absent".
func parseSidecar(b []byte) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not \"key: value\"", n, line)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("line %d: key %q repeated", n, k)
		}
		m[k] = v
	}
	return m, sc.Err()
}

func loadDump(t *testing.T, bin string) dump {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(bin), ".bin")
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	side, err := os.ReadFile(strings.TrimSuffix(bin, ".bin") + ".txt")
	if err != nil {
		t.Fatalf("%s: every dump needs a sidecar: %v", name, err)
	}
	meta, err := parseSidecar(side)
	if err != nil {
		t.Fatalf("%s.txt: %v", name, err)
	}
	d := dump{name: name, raw: raw, meta: meta, arch: meta["arch"]}
	var ok bool
	if d.format, ok = formats[meta["format"]]; !ok {
		t.Fatalf("%s.txt: format %q (want one of LE64, BE64, LE32, BE32)", name, meta["format"])
	}
	for i, wn := range hwcap.WordName {
		v, ok := meta["at_"+wn]
		if !ok {
			t.Fatalf("%s.txt: no at_%s line", name, wn)
		}
		if v == "absent" {
			continue
		}
		x, err := strconv.ParseUint(v, 0, 64)
		if err != nil {
			t.Fatalf("%s.txt: at_%s: %v", name, wn, err)
		}
		d.words[i], d.present[i] = x, true
	}
	if ci, err := os.ReadFile(strings.TrimSuffix(bin, ".bin") + ".cpuinfo"); err == nil {
		d.cpuinfo = ci
	}
	return d
}

func loadDumps(t *testing.T) []dump {
	t.Helper()
	bins, err := filepath.Glob("testdata/*.bin")
	if err != nil {
		t.Fatal(err)
	}
	var ds []dump
	for _, b := range bins {
		ds = append(ds, loadDump(t, b))
	}
	for _, want := range requiredDumps {
		if !slices.ContainsFunc(ds, func(d dump) bool { return d.name == want }) {
			t.Errorf("testdata/%s.bin is missing (recapture with test/vm/capture-auxv.sh)", want)
		}
	}
	return ds
}

func TestParseSidecar(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		"comments and blanks": {in: "# c\n\nformat: LE64\nat_hwcap: 0x1\n", want: map[string]string{"format": "LE64", "at_hwcap": "0x1"}},
		"value with colons":   {in: "qemu: a -M virt:x\n", want: map[string]string{"qemu": "a -M virt:x"}},
		"no separator":        {in: "format LE64\n", wantErr: true},
		"repeated key":        {in: "at_hwcap: 0x1\nat_hwcap: 0x2\n", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := parseSidecar([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDumps decodes each real dump and checks it against the words the
// capture's own payload read from its initial stack.
func TestDumps(t *testing.T) {
	for _, d := range loadDumps(t) {
		t.Run(d.name, func(t *testing.T) {
			v, err := auxv.Decode(d.raw, d.format)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := v.HWCAPs(); got != d.words {
				t.Errorf("HWCAPs() = %v, sidecar says %v", got, d.words)
			}
			if got := v.Present(); got != d.present {
				t.Errorf("Present() = %v, sidecar says %v", got, d.present)
			}
			// Every Linux vector carries these; both captured kernels use 4 KiB pages.
			if pg, ok := v.Lookup(6); !ok || pg != 4096 { // AT_PAGESZ
				t.Errorf("AT_PAGESZ = %d, %v; want 4096", pg, ok)
			}
			for _, typ := range []uint64{3, 9, 25} { // AT_PHDR, AT_ENTRY, AT_RANDOM
				if x, ok := v.Lookup(typ); !ok || x == 0 {
					t.Errorf("entry type %d = %#x, %v; want a non-zero address", typ, x, ok)
				}
			}

			enc, err := v.Encode(d.format)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(enc, d.raw) {
				t.Errorf("Encode(Decode(x)) != x:\n got %x\nwant %x", enc, d.raw)
			}
		})
	}
}

// TestDumpsMasked checks that Masked changes only AT_HWCAPn entries, adds
// none, and leaves the vector it was called on alone.
func TestDumpsMasked(t *testing.T) {
	keeps := map[string]hwcap.Words{
		"none":      {},
		"all":       {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)},
		"low half":  {0xffff, 0xffff, 0xffff, 0xffff},
		"word 2 on": {0, ^uint64(0), 0, 0},
	}
	for _, d := range loadDumps(t) {
		v, err := auxv.Decode(d.raw, d.format)
		if err != nil {
			t.Fatalf("%s: Decode: %v", d.name, err)
		}
		orig := slices.Clone(v)
		for kn, keep := range keeps {
			t.Run(d.name+"/"+kn, func(t *testing.T) {
				m := v.Masked(keep)
				if !slices.Equal(v, orig) {
					t.Fatal("Masked changed its receiver")
				}
				if len(m) != len(v) {
					t.Fatalf("Masked has %d entries, want %d", len(m), len(v))
				}
				for i := range m {
					w := slices.Index(hwcap.AuxvType[:], v[i].Type)
					want := v[i]
					if w >= 0 {
						want.Val &= keep[w]
					}
					if m[i] != want {
						t.Errorf("entry %d = %+v, want %+v", i, m[i], want)
					}
				}
				if got, want := m.HWCAPs(), d.words.And(keep); got != want {
					t.Errorf("HWCAPs() = %v, want %v", got, want)
				}
				if m.Present() != d.present {
					t.Errorf("Present() = %v, want %v (Masked must not add entries)", m.Present(), d.present)
				}
				enc, err := m.Encode(d.format)
				if err != nil {
					t.Fatal(err)
				}
				back, err := auxv.Decode(enc, d.format)
				if err != nil || !slices.Equal(back, m) {
					t.Errorf("round trip of the masked vector: %v, %v", back, err)
				}
			})
		}
	}
}

// flagsLine returns the value of the first "key : value" line of a
// /proc/cpuinfo (the first CPU's): "Features" on arm64, "flags" on x86.
func flagsLine(b []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return v
		}
	}
	return ""
}

// cpuinfoFlags returns the names in flagsLine as a set.
func cpuinfoFlags(b []byte, key string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(flagsLine(b, key)) {
		m[f] = true
	}
	return m
}

// TestDumpsMatchCPUInfo ties the AT_HWCAP words of each real dump to the
// feature names the same kernel printed in /proc/cpuinfo, through the
// feature tables: a wrong bit number or name in a table fails here.
func TestDumpsMatchCPUInfo(t *testing.T) {
	for _, d := range loadDumps(t) {
		t.Run(d.name, func(t *testing.T) {
			if d.cpuinfo == nil {
				t.Fatalf("testdata/%s.cpuinfo missing", d.name)
			}
			tab, err := hwcap.Lookup(d.arch)
			if err != nil {
				t.Fatal(err)
			}
			key := map[string]string{"arm64": "Features", "amd64": "flags"}[tab.Arch]
			flags := cpuinfoFlags(d.cpuinfo, key)
			if len(flags) == 0 {
				t.Fatalf("no %q line in %s.cpuinfo", key, d.name)
			}
			for _, f := range tab.Features {
				has := d.words.Has(f.Word, f.Bit)
				if has != flags[f.Name] {
					t.Errorf("%s (%s, word %d bit %d): in AT_HWCAP words %v, in cpuinfo %v",
						f.Name, f.Macro, f.Word, f.Bit, has, flags[f.Name])
				}
			}
			// On arm64 cpuinfo prints exactly the HWCAP bits, so every name
			// it prints must be in the table.
			if tab.Arch == "arm64" {
				for name := range flags {
					if _, ok := tab.Feature(name); !ok {
						t.Errorf("cpuinfo feature %q is not in the arm64 table", name)
					}
				}
				if got, want := tab.Render(d.words), strings.Join(strings.Fields(flagsLine(d.cpuinfo, key)), " "); got != want {
					t.Errorf("Render(words) = %q\ncpuinfo prints  %q", got, want)
				}
			}
		})
	}
}
