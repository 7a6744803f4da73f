package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/testutil"
)

func TestMain(m *testing.M) {
	MaybeChild()
	os.Exit(m.Run())
}

func TestLockdown(t *testing.T) {
	want := testutil.Lockdown(t)
	got, err := Lockdown()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Lockdown() = %q, mount+cat says %q", got, want)
	}
	t.Logf("lockdown: %s", got)
	// The host's mounts are unchanged: securityfs was mounted only in the
	// child's private namespace.
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), " securityfs ") != hostHasSecurityfs {
		t.Errorf("Lockdown changed the mounts of the caller's namespace")
	}
}

var hostHasSecurityfs = func() bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	return strings.Contains(string(b), " securityfs ")
}()

func TestParseLockdown(t *testing.T) {
	for in, want := range map[string]string{
		"[none] integrity confidentiality\n": "none",
		"none [integrity] confidentiality\n": "integrity",
		"none integrity [confidentiality]":   "confidentiality",
	} {
		if got, err := parseLockdown([]byte(in)); err != nil || got != want {
			t.Errorf("parseLockdown(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "none integrity", "[bogus]", "]["} {
		if _, err := parseLockdown([]byte(bad)); err == nil {
			t.Errorf("parseLockdown(%q) accepted", bad)
		}
	}
}

func TestCheckBPFFS(t *testing.T) {
	testutil.RequireRoot(t)
	err := Check(filepath.Join(t.TempDir(), "hwcap"), ModeDryRun)
	if !errors.Is(err, ErrNoBPFFS) || !strings.Contains(err.Error(), "mount -t bpf bpf") {
		t.Errorf("Check on a tmpfs dir = %v, want ErrNoBPFFS with the mount command", err)
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeWrite, ModeDryRun} {
		if got, err := ParseMode(string(m)); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	if _, err := ParseMode("dryrun"); err == nil {
		t.Error("ParseMode accepted dryrun")
	}
}

func TestPossibleCPUs(t *testing.T) {
	n, err := possibleCPUs()
	if err != nil || n < 1 {
		t.Fatalf("possibleCPUs = %d, %v", n, err)
	}
}

func TestUnifiedPath(t *testing.T) {
	for in, want := range map[string]string{
		"12:pids:/x\n0::/system.slice/a.scope\n": "/system.slice/a.scope",
		"0::/\n":                                 "/",
		"0::/gone (deleted)\n":                   "/gone",
		"1:name=systemd:/x\n":                    "",
	} {
		got, ok := unifiedPath([]byte(in))
		if got != want || ok != (want != "") {
			t.Errorf("unifiedPath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestCgroupOfSelf: this process's cgroup v2 id is its directory's inode
// (kernfs ids are inode numbers on 64-bit kernels).
func TestCgroupOfSelf(t *testing.T) {
	cg, err := CgroupOf(os.Getpid())
	if errors.Is(err, ErrNoCgroup) {
		testutil.Skip(t, "no cgroup v2 hierarchy here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(cg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if ino := statIno(st); ino != cg.ID {
		t.Errorf("CgroupOf = %+v, inode %d", cg, ino)
	}
	mnt, err := Cgroup2Mount()
	if err != nil {
		t.Fatal(err)
	}
	if cg.Dir != filepath.Join(mnt, cg.Path) {
		t.Errorf("dir %s is not %s under %s", cg.Dir, cg.Path, mnt)
	}
}
