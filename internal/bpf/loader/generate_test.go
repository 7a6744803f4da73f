package loader

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/testutil"
)

// TestGeneratedCurrent rebuilds the BPF objects and their Go bindings with
// the //go:generate lines of gen.go into a temporary directory and fails
// when a committed file differs: an edited C source, header or bpf2go
// version without `make generate` is caught here.
func TestGeneratedCurrent(t *testing.T) {
	testutil.RequireCommand(t, "clang-14")
	goBin := testutil.RequireCommand(t, "go")
	lines := generateLines(t)
	out := t.TempDir()
	for _, args := range lines {
		cmd := exec.Command(goBin, append(append([]string{"tool"}, args[:1]...), append([]string{"-output-dir", out}, args[1:]...)...)...)
		cmd.Env = append(os.Environ(), "GOPACKAGE=loader", "GOFILE=gen.go")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, b)
		}
	}
	made, err := filepath.Glob(filepath.Join(out, "*"))
	if err != nil || len(made) == 0 {
		t.Fatalf("bpf2go wrote nothing to %s (%v)", out, err)
	}
	committed, _ := filepath.Glob("hwcap*_bpfe[lb].*")
	if len(committed) != len(made) {
		t.Errorf("committed %v, a rebuild makes %d files", committed, len(made))
	}
	for _, p := range made {
		name := filepath.Base(p)
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s is generated but not committed: run make generate", name)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from a rebuild of c/hwcap.bpf.c: run make generate and commit the result", name)
		}
	}
}

// generateLines returns the arguments after "go tool" of gen.go's
// //go:generate lines.
func generateLines(t *testing.T) [][]string {
	t.Helper()
	f, err := os.Open("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "//go:generate go tool "); ok {
			out = append(out, strings.Fields(rest))
		}
	}
	if len(out) != 2 {
		t.Fatalf("gen.go: want 2 bpf2go lines, found %d", len(out))
	}
	return out
}

// TestLayouts: internal/bpf reads and writes the maps without these
// bindings; its sizes, counter names and program names must be the C
// program's.
func TestLayouts(t *testing.T) {
	if len(bpf.StatNames) != int(hwcapHwcapStatHWCAP_STAT_MAX) {
		t.Fatalf("bpf.StatNames has %d names, the C enum %d counters", len(bpf.StatNames), hwcapHwcapStatHWCAP_STAT_MAX)
	}
	seen := map[string]bool{}
	for _, n := range bpf.StatNames {
		if seen[n] || n == "" {
			t.Errorf("duplicate or empty stat name %q", n)
		}
		seen[n] = true
	}
	if got := unsafe.Sizeof(hwcapHwcapMask{}); got != bpf.MaskSize {
		t.Errorf("struct hwcap_mask is %d bytes, bpf.MaskSize %d", got, bpf.MaskSize)
	}
	if got := unsafe.Sizeof(hwcapDryHwcapSeen{}); got != bpf.SeenSize {
		t.Errorf("struct hwcap_seen is %d bytes, bpf.SeenSize %d", got, bpf.SeenSize)
	}
	var s hwcapDryHwcapSeen
	if unsafe.Offsetof(s.After) != bpf.MaskSize || unsafe.Offsetof(s.Present) != 2*bpf.MaskSize || unsafe.Offsetof(s.Source) != 2*bpf.MaskSize+4 {
		t.Errorf("struct hwcap_seen layout: after %d present %d source %d", unsafe.Offsetof(s.After), unsafe.Offsetof(s.Present), unsafe.Offsetof(s.Source))
	}
	for got, want := range map[string]string{hwcapProgHwcapExec: bpf.ProgExec, hwcapProgHwcapFork: bpf.ProgFork,
		hwcapDryProgHwcapExecDry: bpf.ProgExecDry, hwcapDryProgHwcapForkDry: bpf.ProgForkDry,
		hwcapMapTaskMask: bpf.PinTaskMask, hwcapMapCgroupMask: bpf.PinCgroupMask, hwcapMapStats: bpf.PinStats, hwcapDryMapSeen: bpf.PinSeen} {
		if got != want {
			t.Errorf("C name %q, internal/bpf says %q", got, want)
		}
	}
}
