package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ModuleRoot returns the directory holding go.mod, searching up from the
// working directory (a test's package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// BuildCommands builds ./cmd/NAME for each name into dir as static,
// trimmed binaries with hack/gobuild.sh (the recipe of `make build`:
// hwcap-runtime with its C front end) and returns their paths by name.
// Call it once per test binary, from TestMain.
func BuildCommands(dir string, names ...string) (map[string]string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	goBin := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goBin = p
	} else if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		goBin = "/usr/local/go/bin/go"
	}
	out := map[string]string{}
	args := []string{dir}
	for _, n := range names {
		args = append(args, "./cmd/"+n)
		out[n] = filepath.Join(dir, n)
	}
	cmd := exec.Command(filepath.Join(root, "hack", "gobuild.sh"), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GO="+goBin)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %v: %w\n%s", names, err, b)
	}
	return out, nil
}
