package auxv_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/testutil"
)

func TestReadSelfMatchesProc(t *testing.T) {
	self, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := auxv.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(self, proc) {
		t.Errorf("ReadSelf = %v\n/proc/self/auxv = %v", self, proc)
	}
	pid, err := auxv.ReadPID(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pid, proc) {
		t.Errorf("ReadPID(self) = %v\n/proc/self/auxv = %v", pid, proc)
	}
	if pg, ok := self.Lookup(6); !ok || pg != uint64(os.Getpagesize()) {
		t.Errorf("AT_PAGESZ = %d, %v; want %d", pg, ok, os.Getpagesize())
	}
	if !self.Present()[0] {
		t.Error("this kernel passed no AT_HWCAP")
	}
}

// TestReadPIDChild reads another process's vector. A child of an unmasked
// process sees the same AT_HWCAP words on every kernel.
func TestReadPIDChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	testutil.StartExeced(t, cmd)
	child, err := auxv.ReadPID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	self, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	if child.HWCAPs() != self.HWCAPs() || child.Present() != self.Present() {
		t.Errorf("child words %v, ours %v (child vector %v)", child.HWCAPs(), self.HWCAPs(), child)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	trunc := filepath.Join(dir, "trunc")
	huge := filepath.Join(dir, "huge")
	mustWrite(t, empty, nil)
	// Entries of type 6 (AT_PAGESZ) and no AT_NULL: a cut-off vector, and
	// one far larger than any kernel's. (ReadFile cuts a file after its
	// first AT_NULL entry, so trailing bytes after one are not seen.)
	pagesz := words(auxv.Native, slices.Repeat([]uint64{6}, (1<<20)/auxv.Native.WordSize)...)
	mustWrite(t, trunc, pagesz[:2*auxv.Native.WordSize+1])
	mustWrite(t, huge, pagesz)

	for _, p := range []string{empty, trunc, huge} {
		if _, err := auxv.ReadFile(p); !errors.Is(err, auxv.ErrMalformed) {
			t.Errorf("ReadFile(%s) = %v, want ErrMalformed", filepath.Base(p), err)
		}
	}
	if _, err := auxv.ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want fs.ErrNotExist", err)
	}
	for _, pid := range []int{0, -1} {
		if _, err := auxv.ReadPID(pid); err == nil {
			t.Errorf("ReadPID(%d) succeeded", pid)
		}
	}
}

// TestReadFileDumps reads the real dumps whose format is this machine's
// through ReadFile.
func TestReadFileDumps(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no native dumps for %s", runtime.GOARCH)
	}
	n := 0
	for _, d := range loadDumps(t) {
		if d.format != auxv.LE64 {
			continue
		}
		n++
		v, err := auxv.ReadFile(filepath.Join("testdata", d.name+".bin"))
		if err != nil {
			t.Errorf("%s: %v", d.name, err)
			continue
		}
		if v.HWCAPs() != d.words {
			t.Errorf("%s: HWCAPs = %v, want %v", d.name, v.HWCAPs(), d.words)
		}
	}
	if n == 0 {
		t.Error("no LE64 dumps read")
	}
}

func mustWrite(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReadStackMatchesSaved: in a process nothing masked, the initial
// stack's vector is the saved one, entry for entry.
func TestReadStackMatchesSaved(t *testing.T) {
	stack, err := auxv.ReadStack()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	if len(stack) != len(saved) {
		t.Fatalf("stack has %d entries, saved %d", len(stack), len(saved))
	}
	for i := range stack {
		if stack[i] != saved[i] {
			t.Errorf("entry %d: stack %+v, saved %+v", i, stack[i], saved[i])
		}
	}
}

// TestReadPIDStack: another process's initial stack vector, read through
// /proc/PID/mem, is its saved vector when nothing masked it; our own is
// what the Go runtime read at start.
func TestReadPIDStack(t *testing.T) {
	testutil.RequireRoot(t)
	cmd := exec.Command("/bin/sleep", "30")
	testutil.StartExeced(t, cmd)
	stack, err := auxv.ReadPIDStack(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := auxv.ReadPID(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stack, saved) {
		t.Errorf("stack %v\nsaved %v", stack, saved)
	}
	self, err := auxv.ReadPIDStack(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	mine, err := auxv.ReadStack()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(self, mine) {
		t.Errorf("own stack via /proc/self/mem %v, via the runtime %v", self, mine)
	}
	if _, err := auxv.ReadPIDStack(0); err == nil {
		t.Error("pid 0 accepted")
	}
}
