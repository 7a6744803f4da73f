package testutil

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Applets are the busybox applets linked into a test rootfs.
var Applets = []string{
	"sh", "cat", "echo", "true", "false", "sleep", "ls", "grep", "head", "tail",
	"od", "hexdump", "id", "env", "test", "wc", "tr", "sed", "readlink", "stat",
}

// BusyboxPath finds a statically linked busybox (Debian's busybox-static
// installs /bin/busybox) or skips.
func BusyboxPath(t testing.TB) string {
	t.Helper()
	p := os.Getenv("HWCAP_BUSYBOX")
	if p == "" {
		var err error
		if p, err = exec.LookPath("busybox"); err != nil {
			Skip(t, "busybox not found (install busybox-static: make deps)")
		}
	}
	if err := RequireStatic(p); err != nil {
		Skip(t, "%v (install busybox-static: make deps)", err)
	}
	return p
}

// RequireStatic returns an error unless path is a statically linked ELF
// executable (no PT_INTERP), the only kind that runs in a bare rootfs.
func RequireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; a test rootfs needs static binaries", path)
		}
	}
	return nil
}

// BusyboxRootfs builds a minimal rootfs in a new temporary directory: a
// static busybox as /bin/busybox with Applets linked to it, and the empty
// directories a runtime mounts over. It returns the rootfs path.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	PopulateRootfs(t, dir)
	return dir
}

// PopulateRootfs is BusyboxRootfs into a given directory.
func PopulateRootfs(t testing.TB, dir string) {
	t.Helper()
	bb := BusyboxPath(t)
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "run", "var/log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	CopyFile(t, bb, filepath.Join(dir, "bin/busybox"), 0o755)
	for _, a := range Applets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nnogroup:x:65534:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyFile copies src to dst (creating dst's directory) with mode.
func CopyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
