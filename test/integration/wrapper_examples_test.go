package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/testutil"
)

func exampleFile(t *testing.T, rel string) []byte {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "examples", "runtime", rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestWrapperExampleContainerd loads the containerd example into
// containerd itself: the handler must come out with the wrapper as its
// binary and hwcap.dev/* as pod and container annotations.
func TestWrapperExampleContainerd(t *testing.T) {
	bin := testutil.RequireCommand(t, "containerd")
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, exampleFile(t, "containerd/config.toml"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := testutil.Run(t, testutil.Cmd{Argv: []string{bin, "--config", p, "config", "dump"}, Timeout: 30 * time.Second})
	if res.Err != nil {
		t.Fatalf("containerd config dump: %s", res.Report())
	}
	s := res.Stdout
	i := strings.Index(s, `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hwcap]`)
	if i < 0 {
		t.Fatalf("no hwcap handler in containerd's view of the example:\n%s", s)
	}
	h := s[i:]
	if j := strings.Index(h[1:], "\n    [plugins."); j > 0 {
		h = h[:j]
	}
	for _, want := range []string{
		`runtime_type = "io.containerd.runc.v2"`,
		`pod_annotations = ["hwcap.dev/*"]`,
		`container_annotations = ["hwcap.dev/*"]`,
		`BinaryName = "/usr/local/bin/hwcap-runtime"`,
	} {
		if !strings.Contains(h, want) {
			t.Errorf("containerd's view of the hwcap handler lacks %s:\n%s", want, h)
		}
	}
}

// TestWrapperExamplePodman runs a container with the podman example
// (runtime "hwcap" by name), its path pointed at the test's wrapper.
func TestWrapperExamplePodman(t *testing.T) {
	node := newWrapperNode(t, "enforce", nil)
	p := newPodman(t, node)
	conf := strings.ReplaceAll(string(exampleFile(t, "podman/containers.conf")), "/usr/local/bin/hwcap-runtime", p.runtime)
	confPath := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONTAINERS_CONF", confPath)
	rootfs := testutil.BusyboxRootfs(t)
	// No --runtime path: the name "hwcap" must resolve through the example.
	p.runtime = "hwcap"
	out, _, err := p.run(t, append(podmanRunArgs, "--rm", "--rootfs", rootfs, "/bin/echo", "runtime hwcap by name")...)
	if err != nil || out != "runtime hwcap by name\n" {
		t.Fatalf("podman --runtime hwcap: %v %q", err, out)
	}
	// The wrapper is what ran: a bad annotation gets its one-line refusal.
	_, stderr, err := p.run(t, append(podmanRunArgs, "--rm", "--annotation", "hwcap.dev/deny=nosuchfeature", "--rootfs", rootfs, "/bin/echo", "x")...)
	if err == nil || !strings.Contains(stderr, `hwcap-runtime: container `) || !strings.Contains(stderr, `annotation hwcap.dev/deny: unknown feature "nosuchfeature"`) {
		t.Errorf("podman --runtime hwcap with a bad annotation: %v, stderr %q", err, stderr)
	}
}

// TestWrapperExampleDocker checks the daemon.json example's shape;
// TestWrapperDocker runs dockerd with its runtimes.
func TestWrapperExampleDocker(t *testing.T) {
	var cfg struct {
		Runtimes map[string]struct {
			Path        string   `json:"path"`
			RuntimeArgs []string `json:"runtimeArgs"`
		} `json:"runtimes"`
	}
	dec := json.NewDecoder(strings.NewReader(string(exampleFile(t, "docker/daemon.json"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Runtimes["hwcap"].Path != "/usr/local/bin/hwcap-runtime" || cfg.Runtimes["hwcap-fleet"].Path != "/usr/local/bin/hwcap-runtime" ||
		strings.Join(cfg.Runtimes["hwcap-fleet"].RuntimeArgs, " ") != "--hwcap-profile fleet" {
		t.Errorf("daemon.json runtimes: %+v", cfg.Runtimes)
	}
}
