package node_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/node"
)

// captureDir holds the committed /proc/cpuinfo captures.
var captureDir = filepath.Join("..", "..", "testdata", "cpuinfo")

// x86HWCAP is CPUID.1:EDX as /proc/cpuinfo names its bits (Intel SDM vol.
// 2A table 3-11 with the kernel's names), plus the two AT_HWCAP2 names.
// Written out here, independently of the generated table, so the test
// also checks the table.
var x86HWCAP = set("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 pn clflush dts acpi mmx fxsr sse sse2 ss ht tm ia64 pbe fsgsbase ring3mwait")

type nameSet map[string]bool

func set(s string) nameSet {
	m := nameSet{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

func (s nameSet) and(o nameSet) nameSet {
	m := nameSet{}
	for k := range s {
		if o[k] {
			m[k] = true
		}
	}
	return m
}

func (s nameSet) or(o nameSet) nameSet {
	m := nameSet{}
	for k := range s {
		m[k] = true
	}
	for k := range o {
		m[k] = true
	}
	return m
}

func (s nameSet) minus(o nameSet) nameSet {
	m := nameSet{}
	for k := range s {
		if !o[k] {
			m[k] = true
		}
	}
	return m
}

func (s nameSet) sorted() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedCopy(names []string) []string {
	out := append([]string{}, names...)
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool { return strings.Join(a, " ") == strings.Join(b, " ") }

// expected reads a capture the simple way: the first "Features" or "flags"
// line's words (all processors print the same line in these captures), x86
// restricted to the AT_HWCAP names above.
func expected(t *testing.T, name string) (arch string, names nameSet) {
	t.Helper()
	f, err := os.Open(filepath.Join(captureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Features\t:"):
			return "arm64", set(strings.SplitN(line, ":", 2)[1])
		case strings.HasPrefix(line, "flags\t\t:"):
			return "amd64", set(strings.SplitN(line, ":", 2)[1]).and(x86HWCAP)
		}
	}
	t.Fatalf("%s: no Features or flags line", name)
	return "", nil
}

func parseCapture(t *testing.T, name string) *node.Node {
	t.Helper()
	n, err := node.ReadFile(filepath.Join(captureDir, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// captures lists every committed capture; more may be added by other
// work (qemu guests), and each must parse.
func captures(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(captureDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".txt") {
			out = append(out, e.Name())
		}
	}
	if len(out) < 6 {
		t.Fatalf("want at least 6 captures in %s, have %v", captureDir, out)
	}
	return out
}

func TestCapturesParse(t *testing.T) {
	models := map[string]string{
		"arm64-ref-graviton2-neoverse-n1.txt": "Neoverse-N1",
		"arm64-ref-graviton3-neoverse-v1.txt": "Neoverse-V1",
		"arm64-ref-graviton4-neoverse-v2.txt": "Neoverse-V2",
		"x86-ref-intel-sandybridge.txt":       "Intel(R) Xeon(R) CPU E5-2680 0 @ 2.70GHz",
		"x86-ref-intel-icelake-vm.txt":        "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
		"x86-amd-epyc-zen4-vm.txt":            "AMD EPYC",
		"arm64-neoverse-n1.txt":               "Neoverse-N1",
		"arm64-a64fx.txt":                     "A64FX",
		"arm64-cortex-a72.txt":                "Cortex-A72",
		"arm64-cpu-max.txt":                   "QEMU max",
		"x86_64-haswell.txt":                  "Intel Core Processor (Haswell)",
	}
	for _, name := range captures(t) {
		t.Run(name, func(t *testing.T) {
			arch, want := expected(t, name)
			n := parseCapture(t, name)
			if n.Arch != arch || n.Kind != node.KindCPUInfo {
				t.Errorf("arch %q kind %q, want %q cpuinfo", n.Arch, n.Kind, arch)
			}
			if len(n.Unknown) > 0 {
				t.Errorf("names the table does not know: %v", n.Unknown)
			}
			if got := sortedCopy(n.Names()); !equal(got, want.sorted()) {
				t.Errorf("features\n got %v\nwant %v", got, want.sorted())
			}
			if m, ok := models[name]; ok && n.Model != m {
				t.Errorf("model %q, want %q", n.Model, m)
			}
		})
	}
}

func TestBaselineCaptures(t *testing.T) {
	cases := map[string][]string{
		"n1 v1 v2":        {"arm64-ref-graviton2-neoverse-n1.txt", "arm64-ref-graviton3-neoverse-v1.txt", "arm64-ref-graviton4-neoverse-v2.txt"},
		"v1 v2":           {"arm64-ref-graviton3-neoverse-v1.txt", "arm64-ref-graviton4-neoverse-v2.txt"},
		"v2 alone":        {"arm64-ref-graviton4-neoverse-v2.txt"},
		"x86 three gens":  {"x86-ref-intel-sandybridge.txt", "x86-ref-intel-icelake-vm.txt", "x86-amd-epyc-zen4-vm.txt"},
		"icelake zen4":    {"x86-ref-intel-icelake-vm.txt", "x86-amd-epyc-zen4-vm.txt"},
		"sandybridge icl": {"x86-ref-intel-sandybridge.txt", "x86-ref-intel-icelake-vm.txt"},
	}
	// Every arm64 capture (qemu guests included, when present) together.
	var arm []string
	for _, c := range captures(t) {
		if strings.HasPrefix(c, "arm64-") {
			arm = append(arm, c)
		}
	}
	cases["all arm64 captures"] = arm
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			var nodes []*node.Node
			var common, union nameSet
			sets := map[string]nameSet{}
			for _, f := range files {
				_, s := expected(t, f)
				sets[f] = s
				if common == nil {
					common, union = s, s
				}
				common, union = common.and(s), union.or(s)
				nodes = append(nodes, parseCapture(t, f))
			}
			r, err := node.Baseline(nodes)
			if err != nil {
				t.Fatal(err)
			}
			tab, err := nodes[0].Table()
			if err != nil {
				t.Fatal(err)
			}
			if got := sortedCopy(tab.Names(r.Common)); !equal(got, common.sorted()) {
				t.Errorf("common\n got %v\nwant %v", got, common.sorted())
			}
			if got := sortedCopy(tab.Names(r.Union)); !equal(got, union.sorted()) {
				t.Errorf("union\n got %v\nwant %v", got, union.sorted())
			}
			lacks := map[string][]string{}
			for _, l := range r.Lacks {
				lacks[filepath.Base(l.Node.Source)] = sortedCopy(l.Missing)
			}
			for _, f := range files {
				want := union.minus(sets[f]).sorted()
				if got := lacks[f]; !equal(got, want) {
					t.Errorf("%s lacks %v, want %v", f, got, want)
				}
			}
		})
	}
}

func TestBaselineMixedArch(t *testing.T) {
	a := parseCapture(t, "arm64-ref-graviton2-neoverse-n1.txt")
	x := parseCapture(t, "x86-ref-intel-sandybridge.txt")
	_, err := node.Baseline([]*node.Node{a, x})
	if err == nil {
		t.Fatal("mixed architectures accepted")
	}
	for _, want := range []string{"mixed architectures", "arm64: ", "arm64-ref-graviton2-neoverse-n1.txt", "amd64: ", "x86-ref-intel-sandybridge.txt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := node.Baseline(nil); err == nil {
		t.Error("empty baseline accepted")
	}
}

func TestCompareCaptures(t *testing.T) {
	cases := map[string]struct {
		want, host string
		verdict    string
	}{
		"n1 profile on v1":     {"arm64-ref-graviton2-neoverse-n1.txt", "arm64-ref-graviton3-neoverse-v1.txt", node.Superset},
		"v1 on n1":             {"arm64-ref-graviton3-neoverse-v1.txt", "arm64-ref-graviton2-neoverse-n1.txt", node.Incompatible},
		"v1 on v2 (sm3, sm4)":  {"arm64-ref-graviton3-neoverse-v1.txt", "arm64-ref-graviton4-neoverse-v2.txt", node.Incompatible},
		"v2 on v1":             {"arm64-ref-graviton4-neoverse-v2.txt", "arm64-ref-graviton3-neoverse-v1.txt", node.Incompatible},
		"v2 on v2":             {"arm64-ref-graviton4-neoverse-v2.txt", "arm64-ref-graviton4-neoverse-v2.txt", node.Identical},
		"icelake on sandy":     {"x86-ref-intel-icelake-vm.txt", "x86-ref-intel-sandybridge.txt", node.Incompatible},
		"sandy on zen4":        {"x86-ref-intel-sandybridge.txt", "x86-amd-epyc-zen4-vm.txt", node.Incompatible},
		"zen4 on icelake":      {"x86-amd-epyc-zen4-vm.txt", "x86-ref-intel-icelake-vm.txt", node.Superset},
		"arm profile on intel": {"arm64-ref-graviton2-neoverse-n1.txt", "x86-ref-intel-icelake-vm.txt", node.Incompatible},
		// The same CPU under an older and a newer kernel: 7.3 no longer
		// advertises ssbs on Neoverse N1 (erratum 3194386).
		"graviton2 on qemu n1 (ssbs)": {"arm64-ref-graviton2-neoverse-n1.txt", "arm64-neoverse-n1.txt", node.Incompatible},
		"qemu n1 on graviton2":        {"arm64-neoverse-n1.txt", "arm64-ref-graviton2-neoverse-n1.txt", node.Superset},
		"qemu max on a64fx":           {"arm64-cpu-max.txt", "arm64-a64fx.txt", node.Incompatible},
		"haswell on skylake":          {"x86_64-haswell.txt", "x86_64-skylake-server.txt", node.Identical},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wArch, w := expected(t, tc.want)
			hArch, h := expected(t, tc.host)
			c, err := node.Compare(parseCapture(t, tc.want), parseCapture(t, tc.host))
			if err != nil {
				t.Fatal(err)
			}
			if c.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (blocking %v, extra %v)", c.Verdict, tc.verdict, c.Blocking, c.Extra)
			}
			if c.Compatible() != (tc.verdict != node.Incompatible) {
				t.Errorf("Compatible() = %v for %s", c.Compatible(), c.Verdict)
			}
			if wArch != hArch {
				if len(c.Blocking) != 0 || c.Arch != wArch || c.HostArch != hArch {
					t.Errorf("cross-arch comparison %+v", c)
				}
				return
			}
			if got, want := sortedCopy(c.Blocking), w.minus(h).sorted(); !equal(got, want) {
				t.Errorf("blocking %v, want %v", got, want)
			}
			if got, want := sortedCopy(c.Extra), h.minus(w).sorted(); !equal(got, want) {
				t.Errorf("extra %v, want %v", got, want)
			}
		})
	}
}

// TestHostMatchesCPUInfo checks two independent sources against each
// other on this machine: the AT_HWCAP* words the kernel passed us, and the
// names /proc/cpuinfo prints.
func TestHostMatchesCPUInfo(t *testing.T) {
	h, err := node.Host()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	c, err := node.ParseCPUInfo("/proc/cpuinfo", data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Arch != c.Arch || h.Arch != map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH] {
		t.Fatalf("arch: auxv %s, cpuinfo %s, GOARCH %s", h.Arch, c.Arch, runtime.GOARCH)
	}
	if h.Known() != c.Words {
		t.Errorf("auxv words %s, /proc/cpuinfo says %s", h.Known(), c.Words)
	}
	if h.Words.IsZero() {
		t.Error("host has no AT_HWCAP bits")
	}
	rel, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}
	if h.Kernel == "" || h.Kernel != strings.TrimSpace(string(rel)) {
		t.Errorf("kernel %q", h.Kernel)
	}
	if h.Model == "" {
		t.Error("no CPU model")
	}
}

// TestCPUInfoMatchesKernelWords checks the cpuinfo parser against what
// kernels really passed: internal/auxv/testdata holds, per QEMU guest (and
// this machine), the /proc/self/auxv of a process and /proc/cpuinfo from
// the same boot. The words named from cpuinfo must be the auxv words.
func TestCPUInfoMatchesKernelWords(t *testing.T) {
	dir := filepath.Join("..", "auxv", "testdata")
	infos, err := filepath.Glob(filepath.Join(dir, "*.cpuinfo"))
	if err != nil || len(infos) < 6 {
		t.Fatalf("want at least 6 auxv+cpuinfo pairs in %s, have %v (%v)", dir, infos, err)
	}
	for _, info := range infos {
		name := strings.TrimSuffix(filepath.Base(info), ".cpuinfo")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(info)
			if err != nil {
				t.Fatal(err)
			}
			n, err := node.ParseCPUInfo(info, data)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := auxv.Decode(raw, auxv.LE64) // every capture is little-endian 64-bit
			if err != nil {
				t.Fatal(err)
			}
			tab, err := n.Table()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(name, map[string]string{"arm64": "arm64-", "amd64": "x86_64-"}[n.Arch]) {
				t.Errorf("%s parsed as %s", name, n.Arch)
			}
			kernel := v.HWCAPs().And(tab.Known())
			if n.Words != kernel {
				t.Errorf("cpuinfo says %s, the kernel passed %s\n only in cpuinfo: %v\n only in auxv: %v",
					n.Words, kernel, tab.Names(n.Words.AndNot(kernel)), tab.Names(kernel.AndNot(n.Words)))
			}
			if n.Words.IsZero() {
				t.Error("no features")
			}
		})
	}
}
