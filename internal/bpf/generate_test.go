package bpf

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
		cmd.Env = append(os.Environ(), "GOPACKAGE=bpf", "GOFILE=gen.go")
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

// TestStatNames: one Go name per counter of enum hwcap_stat.
func TestStatNames(t *testing.T) {
	if len(StatNames) != int(hwcapHwcapStatHWCAP_STAT_MAX) {
		t.Fatalf("StatNames has %d names, the C enum %d counters", len(StatNames), hwcapHwcapStatHWCAP_STAT_MAX)
	}
	seen := map[string]bool{}
	for _, n := range StatNames {
		if seen[n] || n == "" {
			t.Errorf("duplicate or empty stat name %q", n)
		}
		seen[n] = true
	}
}
