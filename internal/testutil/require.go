package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// NoSkip reports whether skips are forbidden: $HWCAP_NO_SKIP=1 (set by
// `make test`/CI) or a CI environment ($CI=true or 1).
func NoSkip() bool {
	if v, _ := strconv.ParseBool(os.Getenv("HWCAP_NO_SKIP")); v {
		return true
	}
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Skip skips t with a loud reason on stderr, or fails it when NoSkip.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if NoSkip() {
		t.Fatalf("REQUIRED BUT MISSING (skips are not allowed here): %s", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s ***\n\n", t.Name(), msg)
	t.Skipf("SKIP: %s", msg)
}

// RequireRoot skips unless the test runs as uid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (run: sudo make test)")
	}
}

// RequireCommand returns the path of name on PATH, or skips.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not found on PATH (install it: make deps)", name)
	}
	return p
}

// RequireRuntime returns a Runtime for name ("runc" or "crun") with a
// private state root, after RequireRoot; it skips when name is missing.
func RequireRuntime(t testing.TB, name string) *Runtime {
	t.Helper()
	RequireRoot(t)
	bin := RequireCommand(t, name)
	return newRuntime(t, name, bin)
}
