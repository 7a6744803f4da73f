package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	tests := map[string]struct {
		setup   func(t *testing.T, path string) // prepares path before the write
		perm    os.FileMode
		wantErr error // nil: the write succeeds
	}{
		"new file":     {perm: 0o644},
		"private file": {perm: 0o600},
		"replace": {perm: 0o644, setup: func(t *testing.T, p string) {
			write(t, p, "old content, longer than the new one")
		}},
		"replace tightens mode": {perm: 0o600, setup: func(t *testing.T, p string) {
			write(t, p, "old")
			if err := os.Chmod(p, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		"replaces a symlink": {perm: 0o644, setup: func(t *testing.T, p string) {
			target := filepath.Join(t.TempDir(), "target")
			write(t, target, "elsewhere")
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if got, _ := os.ReadFile(target); string(got) != "elsewhere" {
					t.Errorf("write went through the symlink: %q", got)
				}
			})
		}},
		"directory in the way": {wantErr: os.ErrExist, setup: func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		"replaces a fifo": {perm: 0o644, setup: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		"no directory": {wantErr: os.ErrNotExist, setup: func(t *testing.T, p string) {
			if err := os.Remove(filepath.Dir(p)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "out.json")
			if tc.setup != nil {
				tc.setup(t, p)
			}
			err := WriteFile(p, []byte("new\n"), tc.perm)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got, err := os.ReadFile(p); err != nil || string(got) != "new\n" {
					t.Fatalf("content %q, %v", got, err)
				}
				if st, err := os.Stat(p); err != nil || st.Mode().Perm() != tc.perm {
					t.Fatalf("mode %v, %v; want %v", st.Mode().Perm(), err, tc.perm)
				}
			}
			if ents, err := os.ReadDir(dir); err == nil {
				for _, e := range ents {
					if e.Name() != "out.json" {
						t.Errorf("left behind: %s", e.Name())
					}
				}
			}
		})
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
