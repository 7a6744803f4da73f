package kubernetes

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"

	"github.com/hwcap/hwcap/internal/ctl"
	"github.com/hwcap/hwcap/internal/nfd/nfdtest"
	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/testutil"
)

// imageApplets are the busybox applets the agent's scripts use.
var imageApplets = []string{"sh", "mkdir", "cp", "chmod", "mv", "cmp", "dirname", "basename", "echo", "sleep", "test", "[", "rm", "cat", "ls"}

// imageRootfs builds what the Containerfile builds: a static busybox with
// its applets and hwcap's static binaries in /usr/local/bin.
func imageRootfs(t *testing.T, bins map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "image")
	bb := testutil.BusyboxPath(t)
	testutil.CopyFile(t, bb, filepath.Join(dir, "bin", "busybox"), 0o755)
	for _, a := range imageApplets {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, path := range bins {
		testutil.CopyFile(t, path, filepath.Join(dir, "usr", "local", "bin", name), 0o755)
	}
	return dir
}

// bundleFor turns one container of the agent's pod spec into an OCI
// bundle the way a kubelet and its runtime would: the command, the
// environment (after the image's PATH), user 0 with every capability
// dropped and no privilege escalation, a read-only image root, ConfigMap
// volumes from cmDirs and hostPath volumes under hostRoot.
func bundleFor(t *testing.T, image string, c corev1.Container, vols []corev1.Volume, hostRoot string, cmDirs map[string]string) *testutil.Bundle {
	t.Helper()
	spec := testutil.DefaultSpec(c.Command...)
	for _, e := range c.Env {
		spec.Process.Env = append(spec.Process.Env, e.Name+"="+e.Value)
	}
	sc := c.SecurityContext
	spec.Process.User = specs.User{UID: uint32(*sc.RunAsUser), GID: 0}
	spec.Process.NoNewPrivileges = !*sc.AllowPrivilegeEscalation
	if len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL" {
		spec.Process.Capabilities = &specs.LinuxCapabilities{}
		for _, c := range sc.Capabilities.Add {
			name := "CAP_" + string(c)
			caps := spec.Process.Capabilities
			caps.Bounding = append(caps.Bounding, name)
			caps.Effective = append(caps.Effective, name)
			caps.Permitted = append(caps.Permitted, name)
		}
	}
	spec.Root = &specs.Root{Path: image, Readonly: *sc.ReadOnlyRootFilesystem}
	byName := map[string]corev1.Volume{}
	for _, v := range vols {
		byName[v.Name] = v
	}
	for _, vm := range c.VolumeMounts {
		v := byName[vm.Name]
		var src string
		switch {
		case v.ConfigMap != nil:
			src = cmDirs[v.ConfigMap.Name]
		case v.HostPath != nil:
			src = filepath.Join(hostRoot, v.HostPath.Path)
			if err := os.MkdirAll(src, 0o755); err != nil { // DirectoryOrCreate
				t.Fatal(err)
			}
		}
		opts := []string{"rbind", "rprivate"}
		if vm.ReadOnly {
			opts = append(opts, "ro")
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: vm.MountPath, Type: "bind", Source: src, Options: opts})
	}
	b := &testutil.Bundle{Dir: t.TempDir(), Rootfs: image, Spec: spec}
	b.Write(t)
	return b
}

// runtimeCmd runs the runtime under testutil's deadline, with output to
// a file (testutil.Run's): a container's processes keep the runtime's
// stdio, and a pipe would keep Wait waiting.
func runtimeCmd(t *testing.T, rt *testutil.Runtime, dir string, args ...string) (string, error) {
	t.Helper()
	res := testutil.Run(t, rt.Cmd(dir, nil, args...))
	return res.Combined(), res.Err
}

// TestAgentUnderRunc runs the DaemonSet's install init container and its
// nfd container under runc, with the manifests' commands, environment,
// security settings and volumes, against a directory standing in for the
// node's root.
func TestAgentUnderRunc(t *testing.T) {
	testutil.RequireRoot(t)
	rt := testutil.RequireRuntime(t, "runc")
	m := load(t)
	bins, err := testutil.BuildCommands(t.TempDir(), "hwcapctl", "hwcap-shim", "hwcap-hook", "hwcap-runtime")
	if err != nil {
		t.Fatal(err)
	}
	image := imageRootfs(t, bins)
	hostRoot := t.TempDir()
	cmDirs := map[string]string{}
	for _, cm := range []*corev1.ConfigMap{m.nodeConfig, m.profiles} {
		d := t.TempDir()
		writeConfigMap(t, d, cm)
		cmDirs[cm.Name] = d
	}
	pod := m.daemonSet.Spec.Template.Spec

	// 1. install, twice: the second run changes nothing.
	b := bundleFor(t, image, pod.InitContainers[0], pod.Volumes, hostRoot, cmDirs)
	id := testutil.ID("hwcap-agent-install")
	out, err := runtimeCmd(t, rt, b.Dir, "run", "--bundle", b.Dir, id)
	if err != nil {
		t.Fatalf("install container: %v\n%s", err, out)
	}
	want := map[string][]byte{}
	for name, path := range bins {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want["/usr/local/bin/"+name] = data
	}
	want["/etc/hwcap/config.json"] = []byte(m.nodeConfig.Data["config.json"])
	want["/etc/containers/oci/hooks.d/20-hwcap-guard.json"] = []byte(m.nodeConfig.Data["hook-20-hwcap-guard.json"])
	want["/etc/containers/oci/hooks.d/30-hwcap-poststart.json"] = []byte(m.nodeConfig.Data["hook-30-hwcap-poststart.json"])
	want["/etc/containers/oci/hooks.d/40-hwcap-poststop.json"] = []byte(m.nodeConfig.Data["hook-40-hwcap-poststop.json"])
	want["/etc/crio/crio.conf.d/10-hwcap.conf"] = []byte(m.nodeConfig.Data["crio-10-hwcap.conf"])
	want["/etc/containerd/conf.d/hwcap.toml"] = []byte(m.nodeConfig.Data["containerd-hwcap.toml"])
	for k, v := range m.profiles.Data {
		want["/etc/hwcap/profiles/"+k] = []byte(v)
	}
	for p := range installedPaths(t, m.nodeConfig.Data["install.sh"]) {
		if _, ok := want[p]; !ok && !strings.Contains(p, "$") {
			t.Errorf("install.sh writes %s, which this test does not check", p)
		}
	}
	for p, data := range want {
		got, err := os.ReadFile(filepath.Join(hostRoot, p))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s on the node: %d bytes (%v), want %d bytes", p, len(got), err, len(data))
			continue
		}
		fi, _ := os.Stat(filepath.Join(hostRoot, p))
		mode := os.FileMode(0o644)
		if strings.HasPrefix(p, "/usr/local/bin/") {
			mode = 0o755
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
		if !strings.Contains(out, "installed /host"+p) {
			t.Errorf("install log does not mention %s", p)
		}
		ents, _ := os.ReadDir(filepath.Dir(filepath.Join(hostRoot, p)))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary file %s left in %s", e.Name(), filepath.Dir(p))
			}
		}
	}
	for _, d := range []string{"/var/log/hwcap", "/run/hwcap"} {
		if fi, err := os.Stat(filepath.Join(hostRoot, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s not created: %v", d, err)
		}
	}
	out, err = runtimeCmd(t, rt, b.Dir, "run", "--bundle", b.Dir, id+"-again")
	if err != nil || strings.Contains(out, "installed /host") || strings.Count(out, "unchanged /host") != len(want) {
		t.Errorf("second install: %v, want %d unchanged files\n%s", err, len(want), out)
	}
	// The installed hwcapctl works on the node.
	if res := testutil.Run(t, testutil.Cmd{Argv: []string{filepath.Join(hostRoot, "usr/local/bin/hwcapctl"), "features", "--json"}}); res.Err != nil {
		t.Errorf("installed hwcapctl: %s", res.Report())
	} else if _, err := node.ParseDescription("installed hwcapctl", []byte(res.Stdout)); err != nil {
		t.Error(err)
	}

	// 2. bpf: on this locked-down machine the install is refused with the
	// lockdown named, and the init container still succeeds (the agent
	// goes on). Elsewhere the stand-in /sys/fs/bpf is no bpffs.
	var bpfInit corev1.Container
	for _, c := range pod.InitContainers {
		if c.Name == "bpf" {
			bpfInit = c
		}
	}
	b = bundleFor(t, image, bpfInit, pod.Volumes, hostRoot, cmDirs)
	out, err = runtimeCmd(t, rt, b.Dir, "run", "--bundle", b.Dir, testutil.ID("hwcap-agent-bpf"))
	why := "bpffs not mounted"
	if lvl := testutil.Lockdown(t); lvl != "none" {
		why = `kernel lockdown forbids bpf_probe_write_user: lockdown is "` + lvl + `"`
	}
	if err != nil || !strings.Contains(out, "hwcapctl bpf: install: "+why) || !strings.Contains(out, "the eBPF backend is not installed on this node") {
		t.Errorf("bpf init container: %v, want exit 0 naming %q:\n%s", err, why, out)
	}

	// 3. nfd: the feature file appears in the node's features.d.
	c := pod.Containers[0]
	b = bundleFor(t, image, c, pod.Volumes, hostRoot, cmDirs)
	id = testutil.ID("hwcap-agent-nfd")
	t.Cleanup(func() { _, _ = runtimeCmd(t, rt, "", "delete", "--force", id) })
	if out, err := runtimeCmd(t, rt, b.Dir, "run", "-d", "--bundle", b.Dir, id); err != nil {
		t.Fatalf("nfd container: %v\n%s", err, out)
	}
	var featuresDir string
	for _, v := range pod.Volumes {
		if v.Name == "host-features" {
			featuresDir = filepath.Join(hostRoot, v.HostPath.Path)
		}
	}
	file := filepath.Join(featuresDir, "hwcap")
	var data []byte
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if data, err = os.ReadFile(file); err == nil {
			break
		}
	}
	if err != nil {
		st, _ := runtimeCmd(t, rt, "", "state", id)
		t.Fatalf("no feature file after 60s: %v\nstate: %s", err, st)
	}
	got, err := nfdtest.Read("hwcap", data, time.Now())
	if err != nil {
		t.Fatalf("NFD would not accept %s: %v\n%s", file, err, data)
	}
	host, err := node.Host()
	if err != nil {
		t.Fatal(err)
	}
	expect := map[string]string{"hwcap.dev/installed": "true"}
	has := map[string]bool{}
	for _, f := range host.Names() {
		expect["hwcap.dev/"+host.Arch+"."+f] = "true"
		has[f] = true
	}
	for k, v := range m.profiles.Data {
		p, err := node.ParseProfile(k, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		fits := p.Arch == host.Arch
		for _, f := range p.Names() {
			fits = fits && has[f]
		}
		if fits {
			expect["hwcap.dev/profile."+strings.TrimSuffix(k, ".json")] = "true"
		}
	}
	var probeOut, probeErr bytes.Buffer
	if code := ctl.Main([]string{"probe", "--json", "--dir", filepath.Join(hostRoot, "run/hwcap")}, &probeOut, &probeErr); code != ctl.ExitOK {
		t.Fatalf("probe: %s", probeErr.String())
	}
	var pr struct {
		Inherits bool   `json:"inherits"`
		Cache    string `json:"cache"`
	}
	if err := json.Unmarshal(probeOut.Bytes(), &pr); err != nil {
		t.Fatal(err)
	}
	if pr.Cache != "hit" {
		t.Errorf("the agent did not leave a probe cache for the node (cache %q)", pr.Cache)
	}
	expect["hwcap.dev/kernel.inherit"] = map[bool]string{true: "true", false: "false"}[pr.Inherits]
	if len(got) != len(expect) {
		t.Errorf("%d labels, want %d", len(got), len(expect))
	}
	for k, v := range expect {
		if got[k] != v {
			t.Errorf("label %s=%q, want %q", k, got[k], v)
		}
	}
	// The labels expire an hour (EXPIRY) after the write.
	exp := ""
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "# +expiry-time="); ok {
			exp = v
		}
	}
	ts, err := time.Parse(time.RFC3339, exp)
	if err != nil || ts.Before(time.Now().Add(50*time.Minute)) || ts.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("expiry %q (%v), want about an hour from now", exp, err)
	}
}
