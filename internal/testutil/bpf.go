package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BPFFS mounts a bpf file system of the test's own on a temporary
// directory and returns a directory inside it for the backend's pins
// ($HWCAP_BPF_DIR), so that a test never touches the node's
// /sys/fs/bpf/hwcap. Everything pinned there is dropped with the mount,
// which is detached when the test ends.
func BPFFS(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	mnt := t.TempDir()
	if err := unix.Mount("bpf", mnt, "bpf", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700"); err != nil {
		Skip(t, "mount a bpf file system on %s: %v (needs CAP_SYS_ADMIN)", mnt, err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	return filepath.Join(mnt, "hwcap")
}

// Cgroup2 creates a cgroup v2 directory of the test's own (in the unified
// hierarchy, /sys/fs/cgroup/unified on hybrid hosts) and returns its path;
// it is removed when the test ends (its processes must be gone by then).
func Cgroup2(t testing.TB, name string) string {
	t.Helper()
	RequireRoot(t)
	var base string
	for _, p := range []string{cgroupRoot + "/unified", cgroupRoot} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			base = p
			break
		}
	}
	if base == "" {
		Skip(t, "no cgroup v2 hierarchy at %s or %s/unified", cgroupRoot, cgroupRoot)
	}
	dir := filepath.Join(base, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { RemoveCgroups(name) })
	return dir
}

// Lockdown reads the kernel's lockdown level the way an operator would,
// with unshare(1), mount(8) and cat in a private mount namespace (this
// machine mounts no securityfs), to check hwcap's own reading against.
func Lockdown(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	RequireCommand(t, "unshare")
	res := Run(t, Cmd{Argv: []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		"mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security; cat /sys/kernel/security/lockdown 2>/dev/null || echo '[none]'"},
		Timeout: 30 * time.Second, Quiet: true})
	if res.Err != nil {
		t.Fatalf("%s", res.Report())
	}
	s := res.Stdout
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		t.Fatalf("lockdown state %q", s)
	}
	return s[i+1 : j]
}
