package testutil

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
)

// HostFeature returns the first feature of this host's table that the host
// has (so that a mask hiding it really hides something), the host's
// AT_HWCAP* words, and the table.
func HostFeature(t testing.TB) (hwcap.Feature, hwcap.Words, *hwcap.Table) {
	t.Helper()
	tab, err := hwcap.Host()
	if err != nil {
		t.Fatal(err)
	}
	v, err := auxv.ReadSelf()
	if err != nil {
		t.Fatal(err)
	}
	host := v.HWCAPs()
	for _, f := range tab.Features {
		if host.Has(f.Word, f.Bit) {
			return f, host, tab
		}
	}
	t.Fatalf("host words %s have no feature the %s table names", host, tab.Arch)
	return hwcap.Feature{}, host, tab
}

// StartExeced starts cmd and returns once the kernel has written its new
// saved auxiliary vector. exec.Cmd.Start returns when the exec has passed
// the point of no return (the close-on-exec pipe closes), which is before
// that: for a moment /proc/PID/auxv reads as all zeros (auxv.ErrEmpty).
// The process is killed and reaped when the test ends.
func StartExeced(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		v, err := auxv.ReadPID(cmd.Process.Pid)
		if err == nil && len(v) > 0 {
			return
		}
		if (err != nil && !errors.Is(err, auxv.ErrEmpty)) || time.Now().After(deadline) {
			t.Fatalf("pid %d: its auxiliary vector: %v", cmd.Process.Pid, err)
		}
	}
}
