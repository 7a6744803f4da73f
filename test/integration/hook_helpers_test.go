package integration

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hwcap/hwcap/internal/testutil"
)

var (
	hookOnce sync.Once
	hookBins map[string]string
	hookErr  error
)

// hookBinaries builds hwcap-hook, hwcap-shim and a test-hooks build of the
// shim (which pauses, masked, before exec) once per test binary.
func hookBinaries(t *testing.T) map[string]string {
	t.Helper()
	hookOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hwcap-hook-test-")
		if err != nil {
			hookErr = err
			return
		}
		hookBins, hookErr = testutil.BuildCommands(dir, "hwcap-hook", "hwcap-shim")
		if hookErr != nil {
			return
		}
		root, _ := testutil.ModuleRoot()
		paused := filepath.Join(dir, "hwcap-shim-paused")
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "hwcap_testhooks", "-o", paused, "./cmd/hwcap-shim")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			hookErr = err
			hookBins = map[string]string{"error": string(out)}
			return
		}
		hookBins["hwcap-shim-paused"] = paused
	})
	if hookErr != nil {
		t.Fatalf("build: %v %v", hookErr, hookBins)
	}
	return hookBins
}

// hookNode is a node configuration in a temporary directory.
type hookNode struct {
	Dir, Config, Profiles, Log, RunDir string
}

func newHookNode(t *testing.T, policy string, relax bool) *hookNode {
	t.Helper()
	bins := hookBinaries(t)
	dir := t.TempDir()
	n := &hookNode{
		Dir: dir, Config: filepath.Join(dir, "config.json"), Profiles: filepath.Join(dir, "profiles"),
		Log: filepath.Join(dir, "log", "hwcap.log"), RunDir: filepath.Join(dir, "run"),
	}
	if err := os.MkdirAll(n.Profiles, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"defaultPolicy": policy, "allowAnnotationRelax": relax, "profileDir": n.Profiles,
		"logFile": n.Log, "runDir": n.RunDir, "shimPath": bins["hwcap-shim"],
	}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(n.Config, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// records returns the log's JSON lines (none if the file does not exist).
func (n *hookNode) records(t *testing.T) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(n.Log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// decisions returns "stage=decision" for each log record of container id.
func (n *hookNode) decisions(t *testing.T, id string) []string {
	t.Helper()
	var out []string
	for _, r := range n.records(t) {
		if r["container"] == id {
			out = append(out, r["stage"].(string)+"="+r["decision"].(string))
		}
	}
	return out
}

// exampleHooks reads examples/runc/config-hooks.json and points it at
// the built hook and the test's node configuration.
func exampleHooks(t *testing.T, n *hookNode) *specs.Hooks {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "examples/runc/config-hooks.json"))
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.NewReplacer(
		"/usr/local/bin/hwcap-hook", hookBinaries(t)["hwcap-hook"],
		"/etc/hwcap/config.json", n.Config,
	).Replace(string(data)))
	var snippet struct {
		Hooks *specs.Hooks `json:"hooks"`
	}
	if err := json.Unmarshal(data, &snippet); err != nil {
		t.Fatal(err)
	}
	return snippet.Hooks
}

// hookBundle is a busybox bundle running args with the example hooks and
// the given annotations.
func hookBundle(t *testing.T, n *hookNode, ann map[string]string, args ...string) *testutil.Bundle {
	t.Helper()
	b := testutil.NewBundle(t, args...)
	b.Spec.Hooks = exampleHooks(t, n)
	b.Spec.Annotations = ann
	b.Write(t)
	return b
}
