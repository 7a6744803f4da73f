// Package kubernetes holds hwcap's Kubernetes manifests; its tests decode
// them with the Kubernetes API types (strictly, so a misspelt field
// fails), check that they fit together and with hwcap's own parsers, and
// run the node agent's two containers under runc the way a kubelet would.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/nfd"
)

// manifests are the decoded objects, by file.
type manifests struct {
	namespace    *corev1.Namespace
	nodeConfig   *corev1.ConfigMap // hwcap-node
	profiles     *corev1.ConfigMap // hwcap-profiles
	daemonSet    *appsv1.DaemonSet
	runtimeClass *nodev1.RuntimeClass
	pod          *corev1.Pod
}

// decodeStrict decodes one YAML document into the type its kind names,
// refusing unknown and duplicate fields.
func decodeStrict(data []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		obj = &corev1.Namespace{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "apps/v1 DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "node.k8s.io/v1 RuntimeClass":
		obj = &nodev1.RuntimeClass{}
	case "v1 Pod":
		obj = &corev1.Pod{}
	default:
		return nil, fmt.Errorf("unexpected apiVersion/kind %q %q", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func load(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 6 {
		t.Fatalf("want 6 manifests, have %v", files)
	}
	m := &manifests{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeStrict(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			m.namespace = o
		case *corev1.ConfigMap:
			switch o.Name {
			case "hwcap-node":
				m.nodeConfig = o
			case "hwcap-profiles":
				m.profiles = o
			default:
				t.Fatalf("%s: unexpected ConfigMap %q", f, o.Name)
			}
		case *appsv1.DaemonSet:
			m.daemonSet = o
		case *nodev1.RuntimeClass:
			m.runtimeClass = o
		case *corev1.Pod:
			m.pod = o
		}
	}
	if m.namespace == nil || m.nodeConfig == nil || m.profiles == nil || m.daemonSet == nil || m.runtimeClass == nil || m.pod == nil {
		t.Fatalf("missing objects: %+v", m)
	}
	return m
}

// TestStrictDecodingCatchesTypos proves the decoding above is strict: a
// misspelt field, a wrong type or a repeated key in a real manifest fails.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	data, err := os.ReadFile("daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeStrict(data); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(string) string{
		"misspelt field": func(s string) string { return strings.Replace(s, "mountPath:", "mountPth:", 1) },
		"wrong type":     func(s string) string { return strings.Replace(s, "maxUnavailable: 1", "maxUnavailable: [1]", 1) },
		"repeated key": func(s string) string {
			return strings.Replace(s, "  selector:\n", "  selector:\n    matchLabels: {}\n", 1)
		},
		"unknown kind": func(s string) string { return strings.Replace(s, "kind: DaemonSet", "kind: DaemonSat", 1) },
	} {
		bad := mutate(string(data))
		if bad == string(data) {
			t.Fatalf("%s: mutation did not apply", name)
		}
		if _, err := decodeStrict([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func checkMeta(t *testing.T, kind string, om metav1.ObjectMeta) {
	t.Helper()
	if errs := validation.IsDNS1123Subdomain(om.Name); len(errs) > 0 {
		t.Errorf("%s name %q: %v", kind, om.Name, errs)
	}
	for k, v := range om.Labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Errorf("%s label %s=%s: %v", kind, k, v, errs)
		}
	}
	for k := range om.Annotations {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			t.Errorf("%s annotation %s: %v", kind, k, errs)
		}
	}
}

func TestManifestsFitTogether(t *testing.T) {
	m := load(t)
	checkMeta(t, "Namespace", m.namespace.ObjectMeta)
	checkMeta(t, "ConfigMap", m.nodeConfig.ObjectMeta)
	checkMeta(t, "ConfigMap", m.profiles.ObjectMeta)
	checkMeta(t, "DaemonSet", m.daemonSet.ObjectMeta)
	checkMeta(t, "RuntimeClass", m.runtimeClass.ObjectMeta)
	checkMeta(t, "Pod", m.pod.ObjectMeta)
	ns := m.namespace.Name
	for _, om := range []metav1.ObjectMeta{m.nodeConfig.ObjectMeta, m.profiles.ObjectMeta, m.daemonSet.ObjectMeta} {
		if om.Namespace != ns {
			t.Errorf("%s is in namespace %q, want %q", om.Name, om.Namespace, ns)
		}
	}

	ds := m.daemonSet
	sel, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if sel.Empty() || !sel.Matches(labels.Set(ds.Spec.Template.Labels)) {
		t.Errorf("selector %s does not match the pod template labels %v", sel, ds.Spec.Template.Labels)
	}
	configMaps := map[string]*corev1.ConfigMap{m.nodeConfig.Name: m.nodeConfig, m.profiles.Name: m.profiles}
	volumes := map[string]corev1.Volume{}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			if configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("volume %s: no ConfigMap %q in these manifests", v.Name, v.ConfigMap.Name)
			}
		case v.HostPath != nil:
			if !filepath.IsAbs(v.HostPath.Path) || filepath.Clean(v.HostPath.Path) != v.HostPath.Path {
				t.Errorf("volume %s: hostPath %q", v.Name, v.HostPath.Path)
			}
		default:
			t.Errorf("volume %s: neither ConfigMap nor hostPath", v.Name)
		}
	}
	all := append(append([]corev1.Container{}, ds.Spec.Template.Spec.InitContainers...), ds.Spec.Template.Spec.Containers...)
	if len(all) != 3 {
		t.Fatalf("want the install and bpf init containers and the nfd container, have %d", len(all))
	}
	for _, c := range all {
		if c.Image != all[0].Image {
			t.Errorf("container %s uses image %s, %s uses %s", c.Name, c.Image, all[0].Name, all[0].Image)
		}
		mounts := map[string]string{}
		for _, vm := range c.VolumeMounts {
			v, ok := volumes[vm.Name]
			if !ok {
				t.Errorf("container %s mounts undefined volume %s", c.Name, vm.Name)
			}
			mounts[vm.MountPath] = vm.Name
			if v.ConfigMap != nil && !vm.ReadOnly {
				t.Errorf("container %s: ConfigMap volume %s not read-only", c.Name, vm.Name)
			}
		}
		// The script the container runs is a key of a mounted ConfigMap.
		if len(c.Command) != 2 || c.Command[0] != "/bin/sh" {
			t.Fatalf("container %s command %v (want /bin/sh SCRIPT)", c.Name, c.Command)
		}
		dir, key := filepath.Split(c.Command[1])
		v := volumes[mounts[filepath.Clean(dir)]]
		if v.ConfigMap == nil || configMaps[v.ConfigMap.Name].Data[key] == "" {
			t.Errorf("container %s runs %s, which no mounted ConfigMap provides", c.Name, c.Command[1])
		}
		sc := c.SecurityContext
		// Only the bpf init container gets capabilities back: exactly
		// those that load and attach the programs.
		wantAdd := ""
		if c.Name == "bpf" {
			wantAdd = "SYS_ADMIN BPF PERFMON"
		}
		var add []string
		if sc != nil && sc.Capabilities != nil {
			for _, c := range sc.Capabilities.Add {
				add = append(add, string(c))
			}
		}
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Privileged != nil && *sc.Privileged ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || strings.Join(add, " ") != wantAdd {
			t.Errorf("container %s security context %+v: want read-only root, no privilege escalation, all capabilities dropped (bpf: then %s added)", c.Name, sc, wantAdd)
		}
	}

	// The RuntimeClass handler is the one the node agent configures, and
	// its node selector is a label the agent publishes.
	h := m.runtimeClass.Handler
	if errs := validation.IsDNS1123Label(h); len(errs) > 0 {
		t.Errorf("handler %q: %v", h, errs)
	}
	if !strings.Contains(m.nodeConfig.Data["crio-10-hwcap.conf"], "[crio.runtime.runtimes."+h+"]") {
		t.Errorf("CRI-O drop-in does not define handler %q", h)
	}
	if !strings.Contains(m.nodeConfig.Data["containerd-hwcap.toml"], ".containerd.runtimes."+h+"]") {
		t.Errorf("containerd drop-in does not define handler %q", h)
	}
	if m.runtimeClass.Scheduling == nil || m.runtimeClass.Scheduling.NodeSelector[nfd.InstalledKey(nfd.DefaultPrefix)] != "true" {
		t.Errorf("RuntimeClass scheduling %+v: want nodeSelector %s=true", m.runtimeClass.Scheduling, nfd.InstalledKey(nfd.DefaultPrefix))
	}
	if m.pod.Spec.RuntimeClassName == nil || *m.pod.Spec.RuntimeClassName != m.runtimeClass.Name {
		t.Errorf("example pod runtimeClassName %v, want %s", m.pod.Spec.RuntimeClassName, m.runtimeClass.Name)
	}
}

// TestConfigMapContents: every file the agent installs is valid for the
// component that reads it, parsed by that component's own code where it
// is ours.
func TestConfigMapContents(t *testing.T) {
	m := load(t)
	data := m.nodeConfig.Data

	if _, err := config.Parse([]byte(data["config.json"]), "config.json"); err != nil {
		t.Errorf("node configuration: %v", err)
	}
	nodeCfg, _ := config.Parse([]byte(data["config.json"]), "config.json")

	if len(m.profiles.Data) == 0 {
		t.Fatal("no profiles")
	}
	for key, body := range m.profiles.Data {
		name, ok := strings.CutSuffix(key, ".json")
		if !ok {
			t.Errorf("profile key %q does not end in .json", key)
		}
		if err := config.CheckProfileName(name); err != nil {
			t.Errorf("profile %s: %v", key, err)
		}
		if err := nfd.ValidateKey(nfd.ProfileKey(nfd.DefaultPrefix, name)); err != nil {
			t.Errorf("profile %s cannot be a label: %v", key, err)
		}
		if _, err := hwcap.ParseProfile(strings.NewReader(body)); err != nil {
			t.Errorf("profile %s: %v", key, err)
		}
	}

	// hooks.d files: oci-hooks(5) schema 1.0.0, and identical to the
	// examples CRI-O users install by hand.
	type hookFile struct {
		Version string `json:"version"`
		Hook    struct {
			Path    string   `json:"path"`
			Args    []string `json:"args"`
			Env     []string `json:"env"`
			Timeout *int     `json:"timeout"`
		} `json:"hook"`
		When struct {
			Always        *bool             `json:"always"`
			Annotations   map[string]string `json:"annotations"`
			Commands      []string          `json:"commands"`
			HasBindMounts *bool             `json:"hasBindMounts"`
		} `json:"when"`
		Stages []string `json:"stages"`
	}
	installed := installedPaths(t, data["install.sh"])
	for key, example := range map[string]string{
		"hook-20-hwcap-guard.json":     "20-hwcap-guard.json",
		"hook-30-hwcap-poststart.json": "30-hwcap-poststart.json",
		"hook-40-hwcap-poststop.json":  "40-hwcap-poststop.json",
	} {
		dec := json.NewDecoder(strings.NewReader(data[key]))
		dec.DisallowUnknownFields()
		var h hookFile
		if err := dec.Decode(&h); err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if h.Version != "1.0.0" || len(h.Stages) != 1 || h.Hook.Timeout == nil || len(h.When.Annotations) == 0 {
			t.Errorf("%s: %+v", key, h)
		}
		for _, s := range h.Stages {
			if s != "createRuntime" && s != "poststart" && s != "poststop" {
				t.Errorf("%s: stage %q (CRI-O runs createRuntime, poststart and poststop; it refuses precreate)", key, s)
			}
		}
		for k, v := range h.When.Annotations {
			for _, re := range []string{k, v} {
				if _, err := regexp.Compile(re); err != nil || !strings.HasPrefix(re, "(?") && !strings.HasPrefix(re, "^") {
					t.Errorf("%s: annotation regexp %q (want a valid, anchored regexp): %v", key, re, err)
				}
			}
			if !regexp.MustCompile(k).MatchString("hwcap.dev/profile") || regexp.MustCompile(k).MatchString("example.com/hwcap.dev/x") {
				t.Errorf("%s: %q does not select exactly the hwcap.dev/ annotations", key, k)
			}
		}
		if !installed["/usr/local/bin/"+filepath.Base(h.Hook.Path)] || h.Hook.Path != "/usr/local/bin/"+filepath.Base(h.Hook.Path) {
			t.Errorf("%s: hook path %s is not a binary install.sh installs", key, h.Hook.Path)
		}
		if len(h.Hook.Env) != 1 || h.Hook.Env[0] != "HWCAP_CONFIG=/etc/hwcap/config.json" || !installed["/etc/hwcap/config.json"] {
			t.Errorf("%s: env %v", key, h.Hook.Env)
		}
		exampleData, err := os.ReadFile(filepath.Join("..", "..", "examples", "hooks.d", "crio", example))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, []byte(data[key]), exampleData) {
			t.Errorf("%s differs from examples/hooks.d/crio/%s", key, example)
		}
	}
	for _, p := range []string{"/usr/local/bin/hwcap-runtime", nodeCfg.ShimPath, "/etc/containers/oci/hooks.d/20-hwcap-guard.json", "/etc/crio/crio.conf.d/10-hwcap.conf", "/etc/containerd/conf.d/hwcap.toml"} {
		if !installed[p] {
			t.Errorf("install.sh does not install %s", p)
		}
	}
	for _, key := range []string{"crio-10-hwcap.conf", "containerd-hwcap.toml"} {
		if !strings.Contains(data[key], `"/usr/local/bin/hwcap-runtime"`) {
			t.Errorf("%s does not run /usr/local/bin/hwcap-runtime", key)
		}
	}
	if !strings.Contains(data["containerd-hwcap.toml"], `pod_annotations = ["hwcap.dev/*"]`) {
		t.Error("containerd drop-in does not pass hwcap.dev/* pod annotations to config.json")
	}
}

// installedPaths lists the host paths install.sh writes, by running its
// put lines through a shell with put replaced by an echo. Binaries and
// profiles come from loops; those are expanded with the real names.
func installedPaths(t *testing.T, script string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	re := regexp.MustCompile(`put "[^"]*" "\$HOST([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(script, -1) {
		p := m[1]
		if strings.Contains(p, "/usr/local/bin/$b") {
			for _, b := range []string{"hwcap-shim", "hwcap-hook", "hwcap-runtime", "hwcapctl"} {
				out["/usr/local/bin/"+b] = true
			}
			continue
		}
		out[p] = true
	}
	if len(out) == 0 {
		t.Fatal("no put lines in install.sh")
	}
	return out
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
