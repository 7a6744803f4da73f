package main

import (
	"fmt"
	"regexp"
	"sort"
)

// feature mirrors hwcap.Feature; the generator does not import the package
// it generates, so that a broken table never stops it from running.
type feature struct {
	Name     string
	Macro    string
	Word     int
	Bit      uint
	Security bool
}

// archParser reads one architecture's features from a kernel tree.
type archParser struct {
	arch  string // GOARCH name, the key of hwcap's tables
	parse func(tree) ([]feature, error)
}

var parsers = []archParser{
	{"amd64", parseAMD64},
	{"arm64", parseARM64},
	{"loong64", parseLoong64},
	{"ppc64le", parsePPC64},
	{"riscv64", parseRISCV64},
	{"s390x", parseS390X},
}

// Generate reads the kernel tree at dir and returns the gofmt'ed source of
// zz_generated_tables.go. The output depends only on the files' contents:
// not on dir, the time or the map order.
func Generate(dir string) ([]byte, error) {
	t := tree{dir: dir}
	version, err := kernelVersion(t)
	if err != nil {
		return nil, err
	}
	tables := make(map[string][]feature, len(parsers))
	for _, p := range parsers {
		fs, err := p.parse(t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.arch, err)
		}
		if err := markSecurity(p.arch, fs); err != nil {
			return nil, err
		}
		if err := validate(p.arch, fs); err != nil {
			return nil, err
		}
		sort.Slice(fs, func(i, j int) bool {
			if fs[i].Word != fs[j].Word {
				return fs[i].Word < fs[j].Word
			}
			return fs[i].Bit < fs[j].Bit
		})
		tables[p.arch] = fs
	}
	return emit(version, tables)
}

var (
	reVersion = map[string]*regexp.Regexp{
		"VERSION":    regexp.MustCompile(`(?m)^VERSION[ \t]*=[ \t]*(\d+)[ \t]*$`),
		"PATCHLEVEL": regexp.MustCompile(`(?m)^PATCHLEVEL[ \t]*=[ \t]*(\d+)[ \t]*$`),
		"SUBLEVEL":   regexp.MustCompile(`(?m)^SUBLEVEL[ \t]*=[ \t]*(\d+)[ \t]*$`),
	}
	reExtraVersion = regexp.MustCompile(`(?m)^EXTRAVERSION[ \t]*=[ \t]*([-.\w]*)[ \t]*$`)
)

// kernelVersion reads "7.3.4" (plus EXTRAVERSION, if any) from the top
// Makefile.
func kernelVersion(t tree) (string, error) {
	f, err := t.read(fileMakefile)
	if err != nil {
		return "", err
	}
	var parts [3]string
	for i, key := range []string{"VERSION", "PATCHLEVEL", "SUBLEVEL"} {
		m := reVersion[key].FindStringSubmatch(f.text)
		if m == nil {
			return "", f.errorf("no %q line (want e.g. %s = 3)", key+" = N", key)
		}
		parts[i] = m[1]
	}
	v := parts[0] + "." + parts[1] + "." + parts[2]
	if m := reExtraVersion.FindStringSubmatch(f.text); m != nil {
		v += m[1]
	}
	return v, nil
}

var reName = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// validate checks what hwcap relies on: names are unique, non-empty and
// spelt as hwcap.ParseList accepts them, and every bit is in range and
// named once.
func validate(arch string, fs []feature) error {
	if len(fs) == 0 {
		return fmt.Errorf("%s: %w: no features found", arch, errSource)
	}
	names := make(map[string]string, len(fs))
	bits := make(map[[2]uint]string, len(fs))
	for _, f := range fs {
		if !reName.MatchString(f.Name) {
			return fmt.Errorf("%s: %w: %s: name %q is not lower-case letters, digits and _", arch, errSource, f.Macro, f.Name)
		}
		if f.Word < 0 || f.Word >= 4 || f.Bit >= 64 {
			return fmt.Errorf("%s: %w: %s: word %d bit %d out of range (AT_HWCAP..AT_HWCAP4, bits 0-63)", arch, errSource, f.Macro, f.Word, f.Bit)
		}
		if other, dup := names[f.Name]; dup {
			return fmt.Errorf("%s: %w: name %q used by both %s and %s", arch, errSource, f.Name, other, f.Macro)
		}
		names[f.Name] = f.Macro
		key := [2]uint{uint(f.Word), f.Bit}
		if other, dup := bits[key]; dup {
			return fmt.Errorf("%s: %w: word %d bit %d named by both %s and %s", arch, errSource, f.Word, f.Bit, other, f.Macro)
		}
		bits[key] = f.Macro
	}
	return nil
}
