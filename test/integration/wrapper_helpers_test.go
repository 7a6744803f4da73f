package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hwcap/hwcap/internal/testutil"
)

var (
	wrapperOnce sync.Once
	wrapperBin  string
	wrapperErr  error
)

// wrapperBinary builds cmd/hwcap-runtime once per test binary.
func wrapperBinary(t *testing.T) string {
	t.Helper()
	wrapperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hwcap-runtime-test-")
		if err != nil {
			wrapperErr = err
			return
		}
		bins, err := testutil.BuildCommands(dir, "hwcap-runtime")
		wrapperBin, wrapperErr = bins["hwcap-runtime"], err
	})
	if wrapperErr != nil {
		t.Fatalf("build hwcap-runtime: %v", wrapperErr)
	}
	return wrapperBin
}

// wrapperNode writes a node configuration into a temporary directory and
// returns its path and run directory.
type wrapperNode struct {
	Config  string
	RunDir  string
	LogFile string
}

func newWrapperNode(t *testing.T, policy string, extra map[string]any) *wrapperNode {
	t.Helper()
	dir := t.TempDir()
	n := &wrapperNode{
		Config:  filepath.Join(dir, "config.json"),
		RunDir:  filepath.Join(dir, "run"),
		LogFile: filepath.Join(dir, "log", "hwcap.log"),
	}
	n.write(t, policy, extra)
	return n
}

// write (re)writes the configuration file; the wrapper reads it on every
// run, so a running containerd sees the change.
func (n *wrapperNode) write(t *testing.T, policy string, extra map[string]any) {
	t.Helper()
	cfg := map[string]any{
		"defaultPolicy": policy,
		"runDir":        n.RunDir,
		"logFile":       n.LogFile,
		"profileDir":    filepath.Join(filepath.Dir(n.Config), "profiles"),
	}
	for k, v := range extra {
		cfg[k] = v
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.Config, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// env returns the test's environment with the node configuration and,
// if runtime is not "", $HWCAP_RUNTIME.
func (n *wrapperNode) env(runtime string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HWCAP_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HWCAP_CONFIG="+n.Config)
	if runtime != "" {
		env = append(env, "HWCAP_RUNTIME="+runtime)
	}
	return env
}

// nodeLog returns the node log's JSON lines.
func (n *wrapperNode) nodeLog(t *testing.T) []map[string]any {
	t.Helper()
	return readJSONLines(t, n.LogFile)
}

func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("log: %v", err)
	}
	defer f.Close()
	var out []map[string]any
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var m map[string]any
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %q is not JSON: %v", path, s.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// lines splits output into non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
