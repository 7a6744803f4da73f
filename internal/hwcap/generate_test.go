package hwcap

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedTablesReproducible runs the //go:generate command of gen.go
// on the kernel sources that hack/kernel-src.sh extracts and requires the
// committed zz_generated_tables.go byte for byte. Without the sources it
// skips loudly; under CI=true it fails instead, since CI runs
// hack/kernel-src.sh first and a skip there would hide a stale table.
func TestGeneratedTablesReproducible(t *testing.T) {
	src := kernelSource(t)
	args := goGenerateArgs(t)
	out := filepath.Join(t.TempDir(), "zz_generated_tables.go")
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = out
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "HWCAP_KERNEL_SRC="+src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("zz_generated_tables.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("zz_generated_tables.go is not what %s generates from %s; regenerate with\n\tHWCAP_KERNEL_SRC=%s go generate ./internal/hwcap\nand review the diff", strings.Join(args, " "), src, src)
	}
	if !bytes.Contains(want, []byte(`const KernelVersion = "`+KernelVersion+`"`)) {
		t.Errorf("KernelVersion %q does not come from the committed file", KernelVersion)
	}
}

// kernelSource finds the extracted kernel files the way internal/gen does.
func kernelSource(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HWCAP_KERNEL_SRC")
	if dir == "" {
		cache := os.Getenv("HWCAP_CACHE")
		if cache == "" {
			cache = "/var/cache/hwcap"
		}
		dir = filepath.Join(cache, "linux-source-7.3-hwcap")
	}
	if _, err := os.Stat(filepath.Join(dir, "Makefile")); err != nil {
		msg := "kernel sources not found at " + dir + " (" + err.Error() + "): run hack/kernel-src.sh (it installs Debian's linux-source-7.3 and extracts the headers) or set HWCAP_KERNEL_SRC; the committed tables are NOT checked against the kernel"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP: " + msg)
	}
	return dir
}

// goGenerateArgs returns the command of the //go:generate line in gen.go.
func goGenerateArgs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate "); ok {
			if found != nil {
				t.Fatal(errors.New("gen.go has more than one //go:generate line"))
			}
			found = strings.Fields(rest)
		}
	}
	if len(found) < 4 || found[0] != "go" || found[1] != "run" || found[2] != "./internal/gen" {
		t.Fatalf("gen.go's //go:generate line is %q, want go run ./internal/gen ...", found)
	}
	return found
}
