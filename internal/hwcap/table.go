package hwcap

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Feature is one bit of one AT_HWCAPn word.
type Feature struct {
	// Name is the feature as /proc/cpuinfo prints it ("sve2", "fpu").
	Name string
	// Macro is the uapi macro the bit comes from ("HWCAP2_SVE2").
	Macro string
	// Word is the index of the word: 0 for AT_HWCAP, 1 for AT_HWCAP2, ...
	Word int
	// Bit is the bit number within the word.
	Bit uint
	// Security marks features whose hiding weakens a security mechanism
	// (pointer authentication, BTI, MTE, shadow stacks, ...).
	Security bool
}

// Words returns the feature as a one-bit Words value.
func (f Feature) Words() Words {
	var w Words
	w[f.Word] = 1 << f.Bit
	return w
}

// Table lists the features of one architecture.
type Table struct {
	// Arch is the canonical (GOARCH) architecture name.
	Arch string
	// Features, ordered by word then bit: the order /proc/cpuinfo prints
	// them in on arm64, x86 (word 0) and s390; loongarch prints a few out
	// of bit order and riscv shows letters in its ISA string.
	Features []Feature

	byName map[string]int
	known  Words
}

func newTable(arch string, features []Feature) *Table {
	t := &Table{Arch: arch, Features: features, byName: make(map[string]int, len(features))}
	sort.SliceStable(t.Features, func(i, j int) bool {
		a, b := t.Features[i], t.Features[j]
		if a.Word != b.Word {
			return a.Word < b.Word
		}
		return a.Bit < b.Bit
	})
	for i, f := range t.Features {
		t.byName[f.Name] = i
		t.known[f.Word] |= 1 << f.Bit
	}
	return t
}

var tables = func() map[string]*Table {
	m := make(map[string]*Table, len(generatedTables))
	for arch, fs := range generatedTables {
		m[arch] = newTable(arch, fs)
	}
	return m
}()

// archAliases maps kernel (uname -m) and other common spellings to GOARCH.
var archAliases = map[string]string{
	"x86_64":      "amd64",
	"x86-64":      "amd64",
	"aarch64":     "arm64",
	"arm64":       "arm64",
	"amd64":       "amd64",
	"riscv64":     "riscv64",
	"ppc64le":     "ppc64le",
	"ppc64":       "ppc64le",
	"powerpc64le": "ppc64le",
	"s390x":       "s390x",
	"loongarch64": "loong64",
	"loong64":     "loong64",
}

// CanonicalArch maps an architecture name (GOARCH, uname -m or OCI
// spelling) to the GOARCH name used by profiles.
func CanonicalArch(arch string) (string, error) {
	if c, ok := archAliases[strings.ToLower(strings.TrimSpace(arch))]; ok {
		return c, nil
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownArch, arch, strings.Join(Arches(), ", "))
}

// Arches lists the architectures that have a table, sorted.
func Arches() []string {
	out := make([]string, 0, len(tables))
	for a := range tables {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the table of an architecture, given in any spelling
// CanonicalArch accepts.
func Lookup(arch string) (*Table, error) {
	c, err := CanonicalArch(arch)
	if err != nil {
		return nil, err
	}
	t, ok := tables[c]
	if !ok {
		return nil, fmt.Errorf("%w %q: no feature table", ErrUnknownArch, arch)
	}
	return t, nil
}

// Host returns the table of the architecture this binary runs on.
func Host() (*Table, error) { return Lookup(runtime.GOARCH) }

// Feature returns the feature with the given /proc/cpuinfo name.
func (t *Table) Feature(name string) (Feature, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Feature{}, false
	}
	return t.Features[i], true
}

// Known returns the words with every bit the table names.
func (t *Table) Known() Words { return t.known }

// Bits returns the words with the bits of the given feature names set. An
// unknown name yields an *UnknownFeatureError with suggestions.
func (t *Table) Bits(names []string) (Words, error) {
	var w Words
	for _, n := range names {
		f, ok := t.Feature(n)
		if !ok {
			return Words{}, &UnknownFeatureError{Arch: t.Arch, Name: n, Suggestions: t.Suggest(n)}
		}
		w[f.Word] |= 1 << f.Bit
	}
	return w, nil
}

// Names returns the names of the bits set in w, in /proc/cpuinfo order.
// Bits the table does not know are named "hwcapN:bitB".
func (t *Table) Names(w Words) []string {
	var out []string
	for _, f := range t.Features {
		if w.Has(f.Word, f.Bit) {
			out = append(out, f.Name)
		}
	}
	unknown := w.AndNot(t.known)
	for word, v := range unknown {
		for bit := uint(0); bit < 64; bit++ {
			if v&(1<<bit) != 0 {
				out = append(out, WordName[word]+":bit"+strconv.Itoa(int(bit)))
			}
		}
	}
	return out
}

// Render formats w like the "Features"/"flags" line of /proc/cpuinfo.
func (t *Table) Render(w Words) string { return strings.Join(t.Names(w), " ") }

// Security returns the features set in w whose hiding weakens security.
func (t *Table) Security(w Words) []Feature {
	var out []Feature
	for _, f := range t.Features {
		if f.Security && w.Has(f.Word, f.Bit) {
			out = append(out, f)
		}
	}
	return out
}

// Missing names the bits of want that have does not have: what blocks "want
// is a subset of have".
func (t *Table) Missing(want, have Words) []string {
	return t.Names(want.AndNot(have))
}
