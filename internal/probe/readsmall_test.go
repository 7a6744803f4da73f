package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadSmall(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		size, max int
		wantErr   bool
	}{
		"empty":               {0, 64, false},
		"boot id":             {37, 64, false},
		"exactly max":         {64, 64, false},
		"one over max":        {65, 64, true},
		"spans buffer growth": {5000, 16 << 10, false},
		"cache limit":         {maxCacheSize, maxCacheSize, false},
		"over cache limit":    {maxCacheSize + 1, maxCacheSize, true},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			want := strings.Repeat("x", tc.size)
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := readSmall(p, unix.O_RDONLY|unix.O_CLOEXEC, tc.max)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "larger than") {
					t.Fatalf("err = %v, want a size error", err)
				}
				return
			}
			if err != nil || string(got) != want {
				t.Fatalf("got %d bytes, err %v; want %d bytes", len(got), err, tc.size)
			}
		})
	}
	if _, err := readSmall(filepath.Join(dir, "missing"), unix.O_RDONLY, 64); err == nil {
		t.Error("a missing file read without error")
	}
}

func TestBootID(t *testing.T) {
	want, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	if got := bootID(); got == "" || got != strings.TrimSpace(string(want)) {
		t.Fatalf("bootID() = %q, want %q", got, strings.TrimSpace(string(want)))
	}
}
