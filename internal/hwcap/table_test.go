package hwcap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestCanonicalArch(t *testing.T) {
	tests := map[string]string{
		"amd64": "amd64", "x86_64": "amd64", "x86-64": "amd64", " X86_64 ": "amd64",
		"arm64": "arm64", "aarch64": "arm64", "AArch64": "arm64",
		"riscv64": "riscv64",
		"ppc64le": "ppc64le", "ppc64": "ppc64le", "powerpc64le": "ppc64le",
		"s390x":       "s390x",
		"loongarch64": "loong64", "loong64": "loong64",
	}
	for in, want := range tests {
		got, err := CanonicalArch(in)
		if err != nil || got != want {
			t.Errorf("CanonicalArch(%q) = %q, %v; want %q", in, got, err, want)
		}
		tab, err := Lookup(in)
		if err != nil || tab.Arch != want {
			t.Errorf("Lookup(%q) = %v, %v; want the %s table", in, tab, err, want)
		}
	}
	for _, bad := range []string{"", "mips", "i386", "arm", "amd64 extra"} {
		_, err := CanonicalArch(bad)
		wantErr(t, err, ErrUnknownArch, "unknown architecture", `"`+bad+`"`, "amd64, arm64, loong64, ppc64le, riscv64, s390x")
		_, err = Lookup(bad)
		wantErr(t, err, ErrUnknownArch)
	}
}

func TestArches(t *testing.T) {
	want := []string{"amd64", "arm64", "loong64", "ppc64le", "riscv64", "s390x"}
	if got := Arches(); !slices.Equal(got, want) {
		t.Errorf("Arches() = %v, want %v", got, want)
	}
	for _, alias := range []string{"x86_64", "aarch64", "loongarch64", "powerpc64le"} {
		c, _ := CanonicalArch(alias)
		if !slices.Contains(want, c) {
			t.Errorf("alias %s maps to %s, which has no table", alias, c)
		}
	}
}

func TestKernelVersion(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(KernelVersion) {
		t.Errorf("KernelVersion = %q, want VERSION.PATCHLEVEL.SUBLEVEL", KernelVersion)
	}
}

// TestTableInvariants holds for every generated table: what Bits, Names and
// the parsers rely on.
func TestTableInvariants(t *testing.T) {
	for _, arch := range Arches() {
		tab := mustLookup(t, arch)
		t.Run(arch, func(t *testing.T) {
			if len(tab.Features) == 0 {
				t.Fatal("no features")
			}
			seen := map[[2]uint]string{}
			for i, f := range tab.Features {
				if err := checkName(f.Name); err != nil || f.Name == "" {
					t.Errorf("feature %q is not a valid list name: %v", f.Name, err)
				}
				if f.Macro == "" {
					t.Errorf("feature %q has no macro", f.Name)
				}
				if f.Word < 0 || f.Word >= NumWords || f.Bit >= 64 {
					t.Errorf("feature %q at word %d bit %d", f.Name, f.Word, f.Bit)
				}
				k := [2]uint{uint(f.Word), f.Bit}
				if other, dup := seen[k]; dup {
					t.Errorf("word %d bit %d is both %s and %s", f.Word, f.Bit, other, f.Name)
				}
				seen[k] = f.Name
				if i > 0 {
					p := tab.Features[i-1]
					if p.Word > f.Word || p.Word == f.Word && p.Bit >= f.Bit {
						t.Errorf("features out of order: %s before %s", p.Name, f.Name)
					}
				}
				got, ok := tab.Feature(f.Name)
				if !ok || got != f {
					t.Errorf("Feature(%q) = %+v, %v", f.Name, got, ok)
				}
				if w := f.Words(); w.Count() != 1 || !w.Has(f.Word, f.Bit) {
					t.Errorf("%s.Words() = %v", f.Name, w)
				}
			}
			if got := tab.Known().Count(); got != len(tab.Features) {
				t.Errorf("Known has %d bits for %d features", got, len(tab.Features))
			}
			names := tab.Names(tab.Known())
			if len(names) != len(tab.Features) {
				t.Errorf("Names(Known) has %d names for %d features", len(names), len(tab.Features))
			}
			back, err := tab.Bits(names)
			if err != nil || back != tab.Known() {
				t.Errorf("Bits(Names(Known)) = %v, %v; want Known %v", back, err, tab.Known())
			}
		})
	}
}

// TestReferenceFeatures renders the AT_HWCAP words of two real arm64
// guests through the arm64 table and compares with the Features line their
// kernel printed.
func TestReferenceFeatures(t *testing.T) {
	arm := mustLookup(t, "arm64")
	for name, ref := range armReference {
		t.Run(name, func(t *testing.T) {
			if got := arm.Render(ref.words); got != ref.features {
				t.Errorf("Render(%v)\n got  %s\n want %s", ref.words, got, ref.features)
			}
			back, err := arm.Bits(strings.Fields(ref.features))
			if err != nil {
				t.Fatal(err)
			}
			if back != ref.words {
				t.Errorf("Bits(Features line) = %v, want %v", back, ref.words)
			}
		})
	}
}

func TestArm64Table(t *testing.T) {
	arm := mustLookup(t, "arm64")
	if strings.HasPrefix(KernelVersion, "7.3.") && len(arm.Features) != 124 {
		t.Errorf("arm64 has %d features; Linux 7.3 defines 124 bits over HWCAP/HWCAP2/HWCAP3", len(arm.Features))
	}
	for name, want := range map[string]Feature{
		"fp":           {Name: "fp", Macro: "HWCAP_FP", Word: 0, Bit: 0},
		"sve":          {Name: "sve", Macro: "HWCAP_SVE", Word: 0, Bit: 22},
		"sve2":         {Name: "sve2", Macro: "HWCAP2_SVE2", Word: 1, Bit: 1},
		"sveebf16":     {Name: "sveebf16", Macro: "HWCAP2_SVE_EBF16", Word: 1, Bit: 33},
		"smei16i64":    {Name: "smei16i64", Macro: "HWCAP2_SME_I16I64", Word: 1, Bit: 24},
		"mtestoreonly": {Name: "mtestoreonly", Macro: "HWCAP3_MTE_STORE_ONLY", Word: 2, Bit: 1, Security: true},
		"paca":         {Name: "paca", Macro: "HWCAP_PACA", Word: 0, Bit: 30, Security: true},
	} {
		got, ok := arm.Feature(name)
		if !ok || got != want {
			t.Errorf("arm64 Feature(%q) = %+v, %v; want %+v", name, got, ok, want)
		}
	}
}

// TestAmd64Table: AT_HWCAP is CPUID.1:EDX, AT_HWCAP2 ring3mwait and fsgsbase.
func TestAmd64Table(t *testing.T) {
	x := mustLookup(t, "amd64")
	word0 := "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 pn clflush dts acpi mmx fxsr sse sse2 ss ht tm ia64 pbe"
	got := x.Render(x.Known().And(Words{^uint64(0)}))
	if got != word0 {
		t.Errorf("amd64 word 0:\n got  %s\n want %s", got, word0)
	}
	if got := x.Render(x.Known().And(Words{0, ^uint64(0)})); got != "ring3mwait fsgsbase" {
		t.Errorf("amd64 word 1 = %q, want ring3mwait fsgsbase", got)
	}
	for name, bit := range map[string]uint{"sse": 25, "sse2": 26, "dts": 21, "ss": 27} {
		if f, ok := x.Feature(name); !ok || f.Word != 0 || f.Bit != bit {
			t.Errorf("amd64 %s = %+v, %v; want word 0 bit %d", name, f, ok, bit)
		}
	}
}

func TestOtherTables(t *testing.T) {
	for _, c := range []struct {
		arch, name, macro string
		word              int
		bit               uint
	}{
		{"riscv64", "v", "COMPAT_HWCAP_ISA_V", 0, 21},
		{"riscv64", "i", "COMPAT_HWCAP_ISA_I", 0, 8},
		{"ppc64le", "altivec", "PPC_FEATURE_HAS_ALTIVEC", 0, 28},
		{"ppc64le", "arch_3_1", "PPC_FEATURE2_ARCH_3_1", 1, 18},
		{"ppc64le", "pseries_perfmon_compat", "PPC_FEATURE_PSERIES_PERFMON_COMPAT", 0, 6},
		{"s390x", "vx", "HWCAP_VXRS", 0, 11},
		{"s390x", "edat", "HWCAP_HPAGE", 0, 7},
		{"loong64", "lsx", "HWCAP_LOONGARCH_LSX", 0, 4},
		{"loong64", "lam_bh", "HWCAP_LOONGARCH_LAM_BH", 0, 16},
	} {
		f, ok := mustLookup(t, c.arch).Feature(c.name)
		if !ok || f.Macro != c.macro || f.Word != c.word || f.Bit != c.bit {
			t.Errorf("%s Feature(%q) = %+v, %v; want %s word %d bit %d", c.arch, c.name, f, ok, c.macro, c.word, c.bit)
		}
	}
	if got := mustLookup(t, "riscv64").Render(mustLookup(t, "riscv64").Known()); got != "a c d f i m v" {
		t.Errorf("riscv64 letters = %q", got)
	}
}

func TestSecurityMarks(t *testing.T) {
	want := map[string][]string{
		"arm64": {"dit", "paca", "pacg", "gcs", "bti", "mte", "mte3", "poe", "mtefar", "mtestoreonly"},
	}
	for _, arch := range Arches() {
		tab := mustLookup(t, arch)
		var got []string
		for _, f := range tab.Security(tab.Known()) {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, want[arch]) {
			t.Errorf("%s security features = %v, want %v", arch, got, want[arch])
		}
	}
	arm := mustLookup(t, "arm64")
	max := armReference["qemu -cpu max"].words
	var names []string
	for _, f := range arm.Security(max) {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, []string{"dit", "paca", "pacg", "bti"}) {
		t.Errorf("Security(qemu max) = %v, want dit paca pacg bti", names)
	}
	if got := arm.Security(armReference["qemu -cpu neoverse-n1"].words); len(got) != 0 {
		t.Errorf("Security(neoverse-n1) = %v, want none", got)
	}
	// What a deny list of pointer authentication hides that matters.
	deny := mustBits(t, arm, "paca sve")
	if got := arm.Security(max.And(deny)); len(got) != 1 || got[0].Name != "paca" {
		t.Errorf("Security(max AND {paca,sve}) = %v, want paca", got)
	}
}

func TestBitsUnknown(t *testing.T) {
	tests := map[string]struct {
		arch, name string
		suggest    []string // each must be among the suggestions
		none       bool
	}{
		"sve3":        {arch: "arm64", name: "sve3", suggest: []string{"sve", "sve2"}},
		"pac":         {arch: "arm64", name: "pac", suggest: []string{"paca", "pacg"}},
		"asimdrmd":    {arch: "arm64", name: "asimdrmd", suggest: []string{"asimdrdm"}},
		"fsgbase":     {arch: "amd64", name: "fsgbase", suggest: []string{"fsgsbase"}},
		"sse3 on x86": {arch: "amd64", name: "sse3", suggest: []string{"sse", "sse2"}},
		"nothing":     {arch: "arm64", name: "zzzzzzzzzzzzzzzz", none: true},
		"x86 on arm":  {arch: "arm64", name: "fpu", suggest: []string{"fp"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tab := mustLookup(t, tc.arch)
			_, err := tab.Bits([]string{"fp", tc.name})
			if tc.arch == "amd64" {
				_, err = tab.Bits([]string{"fpu", tc.name})
			}
			wantErr(t, err, ErrUnknownFeature, `unknown feature "`+tc.name+`" for `+tc.arch)
			var ue *UnknownFeatureError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not *UnknownFeatureError", err)
			}
			if ue.Name != tc.name || ue.Arch != tc.arch {
				t.Errorf("error names %q/%q", ue.Name, ue.Arch)
			}
			if len(ue.Suggestions) > 3 {
				t.Errorf("%d suggestions, want at most 3", len(ue.Suggestions))
			}
			if tc.none {
				if len(ue.Suggestions) != 0 || strings.Contains(err.Error(), "did you mean") {
					t.Errorf("suggestions %v for a name close to nothing", ue.Suggestions)
				}
				return
			}
			for _, s := range tc.suggest {
				if !slices.Contains(ue.Suggestions, s) {
					t.Errorf("suggestions %v lack %q", ue.Suggestions, s)
				}
			}
			if !strings.Contains(err.Error(), "(did you mean "+strings.Join(ue.Suggestions, ", ")+"?)") {
				t.Errorf("error %q does not list the suggestions", err)
			}
		})
	}
}

func TestSuggestOrder(t *testing.T) {
	arm := mustLookup(t, "arm64")
	got := arm.Suggest("sve3")
	if len(got) < 2 || !slices.Contains(got[:2], "sve") || !slices.Contains(got[:2], "sve2") {
		t.Errorf("Suggest(sve3) = %v, want sve and sve2 first (distance 1)", got)
	}
	if got := arm.Suggest("sve2"); len(got) == 0 || got[0] != "sve2" {
		t.Errorf("Suggest of a known name = %v, want it first", got)
	}
}

func TestNamesRenderMissing(t *testing.T) {
	arm := mustLookup(t, "arm64")
	max := armReference["qemu -cpu max"].words
	n1 := armReference["qemu -cpu neoverse-n1"].words

	// Bits no table knows are still shown, by position.
	if got := arm.Render(Words{1, 0, 1 << 63, 1 << 5}); got != "fp hwcap3:bit63 hwcap4:bit5" {
		t.Errorf("Render with unknown bits = %q", got)
	}
	if got := arm.Names(Words{}); got != nil {
		t.Errorf("Names(zero) = %v, want nil", got)
	}
	if got := arm.Render(Words{}); got != "" {
		t.Errorf("Render(zero) = %q", got)
	}

	// A checkpoint taken on max cannot restore on n1: what is missing.
	missing := arm.Missing(max, n1)
	if len(missing) != max.AndNot(n1).Count() {
		t.Errorf("Missing names %d bits, want %d", len(missing), max.AndNot(n1).Count())
	}
	for _, m := range []string{"sve", "sve2", "paca", "bti", "smefa64", "jscvt"} {
		if !slices.Contains(missing, m) {
			t.Errorf("Missing(max, n1) lacks %s", m)
		}
	}
	for _, m := range strings.Fields(armReference["qemu -cpu neoverse-n1"].features) {
		if slices.Contains(missing, m) {
			t.Errorf("Missing(max, n1) lists %s, which n1 has", m)
		}
	}
	if got := arm.Missing(n1, max); got != nil {
		t.Errorf("Missing(n1, max) = %v, want nil (n1 is a subset)", got)
	}
	if n1.SubsetOf(max) != (arm.Missing(n1, max) == nil) {
		t.Error("SubsetOf and Missing disagree")
	}
}

// TestHostCpuinfo renders this machine's own AT_HWCAP words (from
// /proc/self/auxv) and compares with /proc/cpuinfo's flags line: every
// word-0 name is printed exactly when its bit is set.
func TestHostCpuinfo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("SKIP: /proc/self/auxv is Linux-only (GOOS=%s)", runtime.GOOS)
	}
	key := map[string]string{"amd64": "flags", "arm64": "Features"}[runtime.GOARCH]
	if key == "" {
		t.Skipf("SKIP: no cpuinfo check for GOARCH=%s", runtime.GOARCH)
	}
	tab, err := Host()
	if err != nil {
		t.Fatal(err)
	}
	words := selfHWCAPs(t)
	flags := cpuinfoFlags(t, key)
	for _, f := range tab.Features {
		if f.Word != 0 {
			continue
		}
		has := words.Has(f.Word, f.Bit)
		if has != flags[f.Name] {
			t.Errorf("%s: AT_HWCAP bit %d is %v, /proc/cpuinfo %s lists it: %v", f.Name, f.Bit, has, key, flags[f.Name])
		}
	}
	for _, n := range tab.Names(words) {
		if !flags[n] {
			t.Errorf("Render(host) names %s, which /proc/cpuinfo does not print", n)
		}
	}
	t.Logf("host %s: %s", words, tab.Render(words))
}

func selfHWCAPs(t *testing.T) Words {
	t.Helper()
	data, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Fatal(err)
	}
	var w Words
	for i := 0; i+16 <= len(data); i += 16 {
		typ := binary.NativeEndian.Uint64(data[i:])
		val := binary.NativeEndian.Uint64(data[i+8:])
		for j, at := range AuxvType {
			if typ == at {
				w[j] = val
			}
		}
	}
	if w.IsZero() {
		t.Fatal("no AT_HWCAP in /proc/self/auxv")
	}
	return w
}

func cpuinfoFlags(t *testing.T, key string) map[string]bool {
	t.Helper()
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			m := map[string]bool{}
			for _, n := range strings.Fields(v) {
				m[n] = true
			}
			return m
		}
	}
	t.Fatalf("/proc/cpuinfo has no %q line", key)
	return nil
}
