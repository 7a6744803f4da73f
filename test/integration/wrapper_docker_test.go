package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/testutil"
)

// dockerT is a private dockerd (own data root, exec root, socket and the
// containerd it starts) with hwcap-runtime registered as runtimes in its
// daemon.json, as examples/runtime/docker/daemon.json does.
type dockerT struct {
	sock string
	dir  string
}

const dockerImage = "hwcap-busybox"

func startDocker(t *testing.T, env []string, runtimes map[string]any) *dockerT {
	t.Helper()
	testutil.RequireRoot(t)
	bin := testutil.RequireCommand(t, "dockerd")
	testutil.RequireCommand(t, "docker")
	dir, err := os.MkdirTemp("", "hwcap-dk-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerT{sock: filepath.Join(dir, "d.sock"), dir: dir}
	cfg, err := json.Marshal(map[string]any{"runtimes": runtimes})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "dockerd.log")
	t.Cleanup(func() { os.RemoveAll(dir) })
	// No networking (no iptables, no bridge) and the vfs driver: nothing
	// of the host's is touched, and nothing needs kernel modules.
	testutil.StartDaemon(t, testutil.Cmd{Argv: []string{bin, "--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "x"),
		"--pidfile", filepath.Join(dir, "d.pid"), "--host", "unix://" + d.sock,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
		"--storage-driver=vfs"}, Env: env}, logPath, 20*time.Second)
	waitDaemon(t, logPath, 300, func() error {
		_, err := d.docker(t, "version")
		return err
	})
	t.Cleanup(func() {
		if out, err := d.docker(t, "ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
			_, _ = d.docker(t, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
	})
	// The image: the test busybox rootfs, imported (no registry).
	image := filepath.Join(dir, "busybox.tar")
	if res := testutil.Run(t, testutil.Cmd{Argv: []string{"tar", "-C", testutil.BusyboxRootfs(t), "-cf", image, "."}}); res.Err != nil {
		t.Fatal(res.Report())
	}
	if _, err := d.docker(t, "import", image, dockerImage); err != nil {
		t.Fatalf("docker import: %v", err)
	}
	return d
}

func (d *dockerT) docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	res := testutil.Run(t, testutil.Cmd{Argv: append([]string{"docker", "--host", "unix://" + d.sock}, args...),
		Timeout: 90 * time.Second, Quiet: args[0] == "version" || args[0] == "ps"})
	err := res.Err
	if err != nil {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(res.Stderr))
	}
	return res.Stdout, err
}

// decisions returns "stage:decision[:profile]" for the container with the
// full id in the node log, from line before on.
func decisionsFor(t *testing.T, n *wrapperNode, before int, id string) []string {
	t.Helper()
	var out []string
	if _, err := os.Stat(n.LogFile); err != nil {
		return nil // nothing logged yet
	}
	for _, l := range n.nodeLog(t)[before:] {
		if l["container"] != id {
			continue
		}
		s := fmt.Sprintf("%v:%v", l["stage"], l["decision"])
		if p, ok := l["profile"]; ok {
			s += fmt.Sprintf(":%v", p)
		}
		out = append(out, s)
	}
	return out
}

// TestWrapperDocker runs Debian's Docker (20.10, no --annotation) with
// hwcap-runtime registered twice in daemon.json: "hwcap" (path only) and
// "hwcap-fleet" (runtimeArgs --hwcap-profile fleet, the way to give
// containers a mask when the engine cannot set annotations). Docker calls
// the runtime through containerd's runc shim with its own argv forms.
func TestWrapperDocker(t *testing.T) {
	rt := testutil.RequireRuntime(t, "runc")
	node := newWrapperNode(t, "warn", nil)
	feature := hostFeatureName(t)
	writeDenyProfile(t, filepath.Join(filepath.Dir(node.Config), "profiles", "fleet.json"), feature)
	// The example's runtimes with this build's binary, and one more with
	// a bad profile name.
	var example struct {
		Runtimes map[string]map[string]any `json:"runtimes"`
	}
	if err := json.Unmarshal(exampleFile(t, "docker/daemon.json"), &example); err != nil {
		t.Fatal(err)
	}
	w := wrapperBinary(t)
	runtimes := map[string]any{"hwcap-typo": map[string]any{"path": w, "runtimeArgs": []string{"--hwcap-profile", "Fleet"}}}
	for name, r := range example.Runtimes {
		if r["path"] != "/usr/local/bin/hwcap-runtime" {
			t.Fatalf("example runtime %s: path %v", name, r["path"])
		}
		r["path"] = w
		runtimes[name] = r
	}
	d := startDocker(t, node.env(rt.Bin), runtimes)
	id := func(name string) string {
		out, err := d.docker(t, "inspect", "--format", "{{.Id}}", name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	run := func(name, runtime string, args ...string) (string, error) {
		return d.docker(t, append([]string{"run", "--name", name, "--network", "none", "--runtime", runtime, dockerImage}, args...)...)
	}

	t.Run("no profile: untouched", func(t *testing.T) {
		before := countLines(t, node.LogFile)
		name := testutil.ID("dk-plain")
		out, err := run(name, "hwcap", "/bin/echo", "hello from docker")
		if err != nil || out != "hello from docker\n" {
			t.Fatalf("docker run: %v %q", err, out)
		}
		if got := decisionsFor(t, node, before, id(name)); len(got) != 0 {
			t.Fatalf("node log for an unannotated container without --hwcap-profile: %v", got)
		}
		// It goes through the wrapper: create leaves a record (unmasked)
		// while the container runs.
		name = testutil.ID("dk-plain-d")
		if _, err := d.docker(t, "run", "-d", "--name", name, "--network", "none", "--runtime", "hwcap", dockerImage, "/bin/sleep", "120"); err != nil {
			t.Fatal(err)
		}
		if n := countRecords(t, filepath.Join(node.RunDir, "containers"), id(name)); n != 1 {
			t.Fatalf("%d records: docker's create did not go through hwcap-runtime", n)
		}
		if got := decisionsFor(t, node, before, id(name)); len(got) != 0 {
			t.Fatalf("node log for an unannotated container without --hwcap-profile: %v", got)
		}
	})

	t.Run("runtimeArgs profile, warn", func(t *testing.T) {
		before := countLines(t, node.LogFile)
		name := testutil.ID("dk-fleet")
		if _, err := d.docker(t, "run", "-d", "--name", name, "--network", "none", "--runtime", "hwcap-fleet", dockerImage, "/bin/sleep", "120"); err != nil {
			t.Fatal(err)
		}
		out, err := d.docker(t, "exec", name, "/bin/echo", "exec works")
		if err != nil || out != "exec works\n" {
			t.Fatalf("docker exec: %v %q", err, out)
		}
		got := decisionsFor(t, node, before, id(name))
		// This kernel does not pass masks on: warned, with the profile;
		// a kernel with the series: masked.
		if !slices.Equal(got, []string{"create:warned:fleet", "exec:warned:fleet"}) && !slices.Equal(got, []string{"create:masked:fleet", "exec:masked:fleet"}) {
			t.Fatalf("node log %v, want create and exec with profile fleet", got)
		}
		// The wrapper masked itself before it exec'd runc: the record of
		// the mask it applied names the hidden feature.
		for _, l := range node.nodeLog(t)[before:] {
			if l["container"] == id(name) && l["stage"] == "create" {
				if h, _ := l["hidden"].([]any); !slices.Contains(h, any(feature)) {
					t.Errorf("create record hides %v, want %s", l["hidden"], feature)
				}
			}
		}
	})

	t.Run("runtimeArgs profile, enforce", func(t *testing.T) {
		node.write(t, "enforce", nil)
		t.Cleanup(func() { node.write(t, "warn", nil) })
		before := countLines(t, node.LogFile)
		name := testutil.ID("dk-enf")
		out, err := run(name, "hwcap-fleet", "/bin/echo", "ran")
		got := decisionsFor(t, node, before, id(name))
		if slices.Equal(got, []string{"create:masked:fleet"}) {
			if err != nil || out != "ran\n" {
				t.Fatalf("masked run: %v %q", err, out)
			}
			return
		}
		if err == nil {
			t.Fatalf("docker run succeeded under enforce on a kernel without the series (log %v)", got)
		}
		if !strings.Contains(err.Error(), "hwcap-runtime: container ") || !strings.Contains(err.Error(), "policy enforce: kernel") {
			t.Fatalf("docker's error %q does not carry the wrapper's reason", err)
		}
	})

	t.Run("bad runtimeArgs", func(t *testing.T) {
		name := testutil.ID("dk-typo")
		_, err := run(name, "hwcap-typo", "/bin/echo", "ran")
		if err == nil || !strings.Contains(err.Error(), `hwcap-runtime: bad hwcap-runtime option: --hwcap-profile: cannot use profile: bad profile name "Fleet"`) {
			t.Fatalf("docker run with a bad --hwcap-profile: %v", err)
		}
	})
}

// writeDenyProfile writes a profile that allows every feature this host
// has except feature.
func writeDenyProfile(t *testing.T, path, feature string) {
	t.Helper()
	_, host, tab := testutil.HostFeature(t)
	allow := slices.DeleteFunc(tab.Names(host), func(s string) bool { return s == feature })
	data, err := json.Marshal(hwcap.Profile{Version: "hwcap.dev/v1", Arch: tab.Arch, Description: "all but " + feature, Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
