package hwcap

import (
	"errors"
	"strings"
	"testing"
)

// Observed on Debian's 7.3.4 arm64 kernel under qemu 7.2 TCG
// (shared/reference/runtimes.md): the AT_HWCAP/AT_HWCAP2 words and the
// "Features" line of /proc/cpuinfo printed for them.
var armReference = map[string]struct {
	words    Words
	features string
}{
	"qemu -cpu max": {
		words: Words{0xfdffffff, 0x7f83ffff},
		features: "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm " +
			"jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit ilrcpc flagm ssbs " +
			"sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm " +
			"svef32mm svef64mm svebf16 i8mm bf16 dgh rng bti sme smei16i64 smef64f64 smei8i32 " +
			"smef16f32 smeb16f32 smef32f32 smefa64",
	},
	"qemu -cpu neoverse-n1": {
		words:    Words{0x119fff, 0},
		features: "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
	},
}

func mustLookup(t testing.TB, arch string) *Table {
	t.Helper()
	tab, err := Lookup(arch)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", arch, err)
	}
	return tab
}

func mustBits(t testing.TB, tab *Table, names string) Words {
	t.Helper()
	w, err := tab.Bits(strings.Fields(names))
	if err != nil {
		t.Fatalf("%s Bits(%q): %v", tab.Arch, names, err)
	}
	return w
}

func wantErr(t *testing.T, err error, target error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one wrapping %v", target)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %q does not wrap %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q lacks %q", err, p)
		}
	}
}
