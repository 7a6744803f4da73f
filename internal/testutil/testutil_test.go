package testutil

import (
	"strings"
	"testing"
)

func TestRequireStatic(t *testing.T) {
	if err := RequireStatic(BusyboxPath(t)); err != nil {
		t.Fatal(err)
	}
	if err := RequireStatic("/bin/ls"); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("/bin/ls: err = %v", err)
	}
}

// TestRuntimesRunBundle proves the helpers produce a bundle each real
// runtime runs, so that failures elsewhere are about hwcap, not the setup.
func TestRuntimesRunBundle(t *testing.T) {
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) {
			rt := RequireRuntime(t, name)
			b := NewBundle(t, "sh", "-c", "echo hello from $(cat /proc/sys/kernel/hostname)")
			b.Write(t)
			res := rt.Run(t, b, ID("testutil"))
			if res.Err != nil {
				t.Fatalf("%s run: %v: %s", name, res.Err, res.Combined())
			}
			if got := strings.TrimSpace(res.Stdout); got != "hello from hwcap-test" {
				t.Fatalf("stdout = %q", got)
			}
		})
	}
}
