package loader

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

func TestMain(m *testing.M) {
	bpf.MaybeChild()
	if os.Getenv(envHelper) == "threads" {
		os.Exit(helperThreads())
	}
	os.Exit(m.Run())
}

// TestInstallWriteUnderLockdown: on a locked-down kernel (this project's
// development machine) install refuses with one line naming lockdown, and
// leaves nothing pinned; the verifier itself refuses the write helper.
func TestInstallWriteUnderLockdown(t *testing.T) {
	dir := testutil.BPFFS(t)
	lvl := testutil.Lockdown(t)
	if lvl == "none" {
		testutil.Skip(t, "kernel not locked down: the refusal cannot be shown here (test/bpf/vm-check.sh boots with lockdown=integrity)")
	}
	_, err := Install(dir, bpf.ModeWrite)
	if !errors.Is(err, bpf.ErrLockdown) {
		t.Fatalf("Install = %v, want ErrLockdown", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, `lockdown is "`+lvl+`"`) {
		t.Errorf("not one line naming lockdown %s: %q", lvl, msg)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused install left %s behind (%v)", dir, err)
	}
	// The verifier's own refusal, which loadError turns into the same cause.
	spec, err := loadHwcap()
	if err != nil {
		t.Fatal(err)
	}
	_, err = ebpf.NewCollection(spec)
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) || !strings.Contains(fmt.Sprintf("%+v", ve), "bpf_probe_write_user") {
		t.Fatalf("loading the write variant under lockdown: %v, want a verifier error on bpf_probe_write_user", err)
	}
	if lerr := loadError(err, bpf.ModeWrite); !errors.Is(lerr, bpf.ErrLockdown) {
		t.Errorf("loadError = %v, want ErrLockdown", lerr)
	}
}

// hostWords and a mask hiding the lowest set bit of the first word.
func maskOne(t *testing.T) (host, keep hwcap.Words, word int) {
	t.Helper()
	v, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	host = v.HWCAPs()
	keep = hwcap.All
	for w := range host {
		if host[w] != 0 {
			keep[w] &^= host[w] & -host[w]
			return host, keep, w
		}
	}
	t.Fatal("no AT_HWCAP bit set on this host")
	return
}

func installDry(t *testing.T) (*bpf.Backend, string) {
	t.Helper()
	dir := testutil.BPFFS(t)
	res, err := Install(dir, bpf.ModeDryRun)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Installed || res.Mode != bpf.ModeDryRun {
		t.Fatalf("first install: %+v", res)
	}
	t.Cleanup(func() { _, _ = bpf.Remove(dir) })
	b, err := bpf.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, dir
}

// gated starts sh -c script with a pipe on stdin that the script reads
// once ("read x") before going on, and a scanner on its stdout.
func gated(t *testing.T, script string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, in, bufio.NewScanner(out)
}

func readPID(t *testing.T, sc *bufio.Scanner) int {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("no pid from the test process: %v", sc.Err())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestDryRunTaskMask: a task mask set through a pidfd is copied to the
// child at fork and applied at its exec, after the layout checks pass on
// real stacks of this kernel; an unmasked process is not looked at.
func TestDryRunTaskMask(t *testing.T) {
	b, _ := installDry(t)
	host, keep, _ := maskOne(t)
	// The parent is masked while it waits; its child execs /bin/sh (with
	// arguments and environment), prints its pid and execs again.
	cmd, in, sc := gated(t, `read x; /bin/sh -c 'echo $$; exec /bin/true a b c' one two`)
	eff, err := b.SetTask(cmd.Process.Pid, keep)
	if err != nil || eff != keep {
		t.Fatalf("SetTask = %s, %v", eff, err)
	}
	// AND, never OR: a looser second mask leaves the first in place.
	if eff, err := b.SetTask(cmd.Process.Pid, hwcap.All); err != nil || eff != keep {
		t.Fatalf("second SetTask(All) = %s, %v; want %s", eff, err, keep)
	}
	fmt.Fprintln(in)
	child := readPID(t, sc)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	s, ok, err := b.Seen(child)
	if err != nil || !ok {
		t.Fatalf("no record of the child's exec (pid %d): %v", child, err)
	}
	if !s.ByTask || s.ByCgroup {
		t.Errorf("record sources: task %v cgroup %v, want task only", s.ByTask, s.ByCgroup)
	}
	for w := range hwcap.NumWords {
		if !s.Present[w] {
			continue
		}
		if s.Before[w] != host[w] || s.After[w] != host[w]&keep[w] {
			t.Errorf("%s: before %#x after %#x; want %#x and %#x", hwcap.WordName[w], s.Before[w], s.After[w], host[w], host[w]&keep[w])
		}
	}
	if !s.Present[0] {
		t.Error("AT_HWCAP not found in the child's stack vector")
	}
	// An unmasked process: no record.
	free, in2, sc2 := gated(t, `read x; exec /bin/sh -c 'echo $$'`)
	fmt.Fprintln(in2)
	pid := readPID(t, sc2)
	_ = free.Wait()
	if _, ok, _ := b.Seen(pid); ok {
		t.Errorf("unmasked pid %d was recorded", pid)
	}
	st, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stats: %v", st)
	if st["fork-copied"] == 0 || st["exec-masked"] < 2 || st["exec-task"] < 2 {
		t.Errorf("counters do not show the fork and the two masked execs: %v", st)
	}
	for _, miss := range []string{"miss-layout", "miss-mismatch", "miss-read-stack", "miss-auxv-format"} {
		if st[miss] != 0 {
			t.Errorf("%s = %d on ordinary execs", miss, st[miss])
		}
	}
}

// TestDryRunCgroupMask: a mask on a cgroup applies to a process that
// joined it (or a cgroup below it) without any task mask, and GC drops
// the entry once the cgroup is gone.
func TestDryRunCgroupMask(t *testing.T) {
	b, _ := installDry(t)
	host, keep, w := maskOne(t)
	name := fmt.Sprintf("hwcap-bpf-test-%d", os.Getpid())
	parent := testutil.Cgroup2(t, name)
	leaf := filepath.Join(parent, "leaf")
	if err := os.Mkdir(leaf, 0o755); err != nil {
		t.Fatal(err)
	}
	pid0, err := bpf.CgroupID(parent)
	if err != nil {
		t.Fatal(err)
	}
	var st unix_stat
	if err := stat(parent, &st); err != nil || st.ino != pid0 {
		t.Fatalf("cgroup id %d of %s differs from its inode %d (%v)", pid0, parent, st.ino, err)
	}
	if _, err := b.SetCgroup(pid0, keep); err != nil {
		t.Fatal(err)
	}
	cmd, in, sc := gated(t, `read x; exec /bin/sh -c 'echo $$'`)
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	cg, err := bpf.CgroupOf(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if cg.Dir != leaf {
		t.Errorf("CgroupOf = %+v, want dir %s", cg, leaf)
	}
	fmt.Fprintln(in)
	pid := readPID(t, sc)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	s, ok, err := b.Seen(pid)
	if err != nil || !ok {
		t.Fatalf("no record of the exec in the cgroup: %v", err)
	}
	if s.ByTask || !s.ByCgroup || s.After[w] != host[w]&keep[w] {
		t.Errorf("record %+v, want by cgroup with %s %#x", s, hwcap.WordName[w], host[w]&keep[w])
	}
	if got, _ := b.Cgroups(); len(got) != 1 || got[pid0] != keep {
		t.Errorf("Cgroups() = %v", got)
	}
	if gone, err := b.GC(); err != nil || len(gone) != 0 {
		t.Errorf("GC with the cgroup alive removed %v (%v)", gone, err)
	}
	if err := os.Remove(leaf); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(parent); err != nil {
		t.Fatal(err)
	}
	if gone, err := b.GC(); err != nil || len(gone) != 1 || gone[0] != pid0 {
		t.Errorf("GC after removal = %v, %v; want [%d]", gone, err, pid0)
	}
	if _, err := b.SetCgroup(1, keep); err == nil {
		t.Error("SetCgroup accepted the root cgroup")
	}
}

// TestInstallIdempotentAndRemove: a second install changes nothing; masks
// survive a reinstall of the programs; remove takes everything away.
func TestInstallIdempotentAndRemove(t *testing.T) {
	b, dir := installDry(t)
	_, keep, _ := maskOne(t)
	cmd, in, _ := gated(t, `read x`)
	defer in.Close()
	if _, err := b.SetTask(cmd.Process.Pid, keep); err != nil {
		t.Fatal(err)
	}
	res, err := Install(dir, bpf.ModeDryRun)
	if err != nil || res.Action != Unchanged {
		t.Fatalf("second install: %+v, %v; want unchanged", res, err)
	}
	// A link removed by hand (its program detached): install attaches a
	// new one and keeps the maps, so the task keeps its mask.
	if err := os.Remove(bpf.PinPath(dir, bpf.PinLinkExec)); err != nil {
		t.Fatal(err)
	}
	res, err = Install(dir, bpf.ModeDryRun)
	if err != nil || res.Action == Unchanged {
		t.Fatalf("install after a lost link: %+v, %v", res, err)
	}
	if got, ok, err := b.TaskMask(cmd.Process.Pid); err != nil || !ok || got != keep {
		t.Errorf("mask after reinstall = %s %v %v, want %s", got, ok, err, keep)
	}
	status, err := bpf.GetStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !status.Installed || status.Mode != bpf.ModeDryRun || len(status.Programs) != 2 {
		t.Errorf("status %+v", status)
	}
	found := false
	for _, ts := range status.Tasks {
		found = found || ts.PID == cmd.Process.Pid
	}
	if !found {
		t.Errorf("status does not list masked pid %d: %+v", cmd.Process.Pid, status.Tasks)
	}
	removed, err := bpf.Remove(dir)
	if err != nil || len(removed) < 5 {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after remove", dir)
	}
	if _, err := bpf.Open(dir); !errors.Is(err, bpf.ErrNotInstalled) {
		t.Errorf("Open after remove = %v, want ErrNotInstalled", err)
	}
	if removed, err := bpf.Remove(dir); err != nil || len(removed) != 0 {
		t.Errorf("second Remove = %v, %v", removed, err)
	}
}

// TestDryRunThreadFork: the mask is the process's. A thread that existed
// before the mask was set on the process (through the leader's pidfd) has
// none of its own; a child it forks still inherits the leader's.
func TestDryRunThreadFork(t *testing.T) {
	b, _ := installDry(t)
	host, keep, w := maskOne(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envHelper+"=threads")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatal("helper said nothing")
	}
	var pid, tid int
	if _, err := fmt.Sscan(sc.Text(), &pid, &tid); err != nil || pid != cmd.Process.Pid || tid == pid {
		t.Fatalf("helper line %q: want its pid %d and another thread's id", sc.Text(), cmd.Process.Pid)
	}
	if _, err := b.SetTask(pid, keep); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in)
	child := readPID(t, sc)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	s, ok, err := b.Seen(child)
	if err != nil || !ok {
		t.Fatalf("the child forked by thread %d of masked pid %d was not masked at its exec (%v)", tid, pid, err)
	}
	if s.After[w] != host[w]&keep[w] {
		t.Errorf("%s after = %#x, want %#x", hwcap.WordName[w], s.After[w], host[w]&keep[w])
	}
}
