package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Output of the arm64 payload in a runc container on the patched kernel
// under qemu -cpu max, masked with hwcap-shim --deny sve,sve2.
const sample = `runc: some message
HWCAP label=init depth=0 pid=1 ppid=0 src=proc hwcap=0xfdbffffb hwcap2=0x7f83fffd hwcap3=0x0 hwcap4=absent
HWCAP label=init depth=0 pid=1 ppid=0 src=stack hwcap=0xfdbffffb hwcap2=0x7f83fffd hwcap3=0x0 hwcap4=absent
HWCAP label=init depth=0 pid=1 ppid=0 src=getauxval hwcap=0xfdbffffb hwcap2=0x7f83fffd hwcap3=0x0 hwcap4=absent
DISPATCH label=init depth=0 path=neon sum=3497500 vl=0
HWCAP label=init depth=1 pid=22 ppid=21 src=proc hwcap=0xfdbffffb hwcap2=0x7f83fffd hwcap3=0x0 hwcap4=absent
`

func TestParseReport(t *testing.T) {
	r, err := parseReport(sample)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.procs) != 2 {
		t.Fatalf("got %d processes", len(r.procs))
	}
	p := r.find("init", 0)
	if p == nil || p.pid != 1 || p.dispatch != "neon" || p.sum != dispatchSum || len(p.views) != 3 {
		t.Fatalf("init: %+v", p)
	}
	want := words{v: [4]uint64{0xfdbffffb, 0x7f83fffd, 0}, present: [4]bool{true, true, true, false}}
	if !p.views["proc"].equal(want, 0) || p.views["proc"].String() != "hwcap=0xfdbffffb,hwcap2=0x7f83fffd,hwcap3=0x0,hwcap4=absent" {
		t.Fatalf("proc view %s", p.views["proc"])
	}
	if c := r.find("init", 1); c == nil || c.ppid != 21 || len(c.views) != 1 {
		t.Fatalf("child: %+v", c)
	}
	if r.find("init", 2) != nil {
		t.Fatal("found a grandchild that did not report")
	}
	for name, bad := range map[string]string{
		"no key=value": "HWCAP label=x depth=0 pid=1 ppid=0 src=proc hwcap",
		"bad word":     "HWCAP label=x depth=0 pid=1 ppid=0 src=proc hwcap=0xZZ hwcap2=0 hwcap3=0 hwcap4=0",
		"missing word": "HWCAP label=x depth=0 pid=1 ppid=0 src=proc hwcap=0x1 hwcap2=0 hwcap3=0",
		"bad depth":    "HWCAP label=x depth=a pid=1 ppid=0 src=proc hwcap=0x1 hwcap2=0 hwcap3=0 hwcap4=0",
		"bad sum":      "DISPATCH label=x depth=0 path=sve sum=-1 vl=0",
	} {
		if _, err := parseReport(bad); err == nil {
			t.Errorf("%s: parsed %q", name, bad)
		}
	}
}

func TestMaskArithmetic(t *testing.T) {
	hw := words{v: [4]uint64{0xfdfffffb, 0x7f83ffff, 0}, present: [4]bool{true, true, true, false}}
	g := &guest{hw: hw}
	g.m.Arch = "arm64"
	if got := g.hide([]string{"sve", "sve2"}); got.v != [4]uint64{0xfdbffffb, 0x7f83fffd, 0, 0} || got.present != hw.present {
		t.Errorf("hide sve,sve2: %s", got)
	}
	if got := g.keepOnly([]string{"fp", "asimd", "uscat"}); got.v != [4]uint64{0x3, 0, 0, 0} {
		t.Errorf("keep fp,asimd,uscat: %s", got)
	}
	if !has("arm64", hw, "sve") || has("arm64", hw, "uscat") || has("arm64", words{}, "fp") {
		t.Error("has")
	}
	if _, err := bits("arm64", []string{"sve3"}); err == nil {
		t.Error("bits of an unknown feature")
	}
	for arch, p := range plans {
		for _, list := range [][]string{p.deny, p.profile, p.cannotAdd} {
			if _, err := bits(arch, list); err != nil {
				t.Errorf("plan %s: %v", arch, err)
			}
		}
	}
}

// The bit numbers written out here agree with the project's generated
// tables; if they disagree one of the two is wrong.
func TestFeaturesAgreeWithTables(t *testing.T) {
	for arch, fs := range features {
		tab, err := hwcap.Lookup(arch)
		if err != nil {
			t.Fatal(err)
		}
		for name, f := range fs {
			tf, ok := tab.Feature(name)
			if !ok || tf.Word != f.word || tf.Bit != f.bit {
				t.Errorf("%s %s: here word %d bit %d, table %+v (found %t)", arch, name, f.word, f.bit, tf, ok)
			}
		}
	}
}

// And with the kernel's uapi header of the arm64 cross toolchain (from
// libc6-dev-arm64-cross, which `make deps` installs).
func TestFeaturesAgreeWithUAPI(t *testing.T) {
	const header = "/usr/aarch64-linux-gnu/include/asm/hwcap.h"
	b, err := os.ReadFile(header)
	if err != nil {
		t.Fatalf("%v (apt-get install libc6-dev-arm64-cross)", err)
	}
	re := regexp.MustCompile(`(?m)^#define\s+HWCAP(2?)_(\w+)\s+\(1(?:UL)?\s*<<\s*(\d+)\)`)
	macros := map[string]feature{}
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		bit, _ := strconv.Atoi(m[3])
		w := 0
		if m[1] == "2" {
			w = 1
		}
		macros[m[2]] = feature{w, uint(bit)}
	}
	for name, f := range features["arm64"] {
		got, ok := macros[strings.ToUpper(name)]
		if !ok || got != f {
			t.Errorf("%s: here %+v, %s has %+v (found %t)", name, f, header, got, ok)
		}
	}
}
