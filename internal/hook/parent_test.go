package hook

import (
	"os"
	"testing"
)

func TestProcParent(t *testing.T) {
	if got, err := procParent(os.Getpid()); err != nil || got != os.Getppid() {
		t.Fatalf("procParent(self) = %d, %v; want %d", got, err, os.Getppid())
	}
	if _, err := procParent(1 << 30); err == nil {
		t.Fatal("procParent of a pid that cannot exist succeeded")
	}
}
