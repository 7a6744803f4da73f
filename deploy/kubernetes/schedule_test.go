package kubernetes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/ctl"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/nfd/nfdtest"
	"github.com/hwcap/hwcap/internal/node"
)

var captureDir = filepath.Join("..", "..", "testdata", "cpuinfo")

// writeConfigMap writes a ConfigMap's data the way the kubelet mounts it:
// the files in a ..data directory and one symlink per key.
func writeConfigMap(t *testing.T, dir string, cm *corev1.ConfigMap) {
	t.Helper()
	data := filepath.Join(dir, "..2026_01_01_00_00_00.000000000")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for k, v := range cm.Data {
		if err := os.WriteFile(filepath.Join(data, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(dir, k)); err != nil {
			t.Fatal(err)
		}
	}
}

// selector turns node selector requirements into a label selector with
// Kubernetes' own matching code.
func selector(t *testing.T, reqs []corev1.NodeSelectorRequirement) labels.Selector {
	t.Helper()
	ops := map[corev1.NodeSelectorOperator]selection.Operator{
		corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
		corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	}
	sel := labels.NewSelector()
	for _, r := range reqs {
		op, ok := ops[r.Operator]
		if !ok {
			t.Fatalf("operator %s not handled", r.Operator)
		}
		req, err := labels.NewRequirement(r.Key, op, r.Values)
		if err != nil {
			t.Fatalf("requirement %+v: %v", r, err)
		}
		sel = sel.Add(*req)
	}
	return sel
}

// nodeLabels runs hwcapctl nfd for a capture, as the agent would on that
// node, and reads the file back as NFD does.
func nodeLabels(t *testing.T, capture, profiles string) labels.Set {
	t.Helper()
	var out, errb bytes.Buffer
	code := ctl.Main([]string{"nfd", "--host", capture, "--profiles", profiles, "--installed", "--stdout"}, &out, &errb)
	if code != ctl.ExitOK {
		t.Fatalf("hwcapctl nfd --host %s: exit %d: %s", capture, code, errb.String())
	}
	l, err := nfdtest.Read("hwcap", out.Bytes(), time.Now())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return labels.Set(l)
}

// TestExamplePodScheduling: for every profile of the ConfigMap, the
// example pod (pointed at that profile) may land exactly on the nodes
// whose features include the profile's, judged from the node labels the
// agent writes and Kubernetes' label matching; the RuntimeClass adds its
// own node selector.
func TestExamplePodScheduling(t *testing.T) {
	m := load(t)
	profDir := t.TempDir()
	writeConfigMap(t, profDir, m.profiles)
	base := m.pod.Annotations["hwcap.dev/profile"]
	if _, ok := m.profiles.Data[base+".json"]; !ok {
		t.Fatalf("example pod's profile %q is not in the ConfigMap", base)
	}
	captures, err := filepath.Glob(filepath.Join(captureDir, "*.txt"))
	if err != nil || len(captures) < 6 {
		t.Fatalf("captures %v %v", captures, err)
	}
	rcSel := labels.SelectorFromSet(labels.Set(m.runtimeClass.Scheduling.NodeSelector))
	scheduled := 0
	for key := range m.profiles.Data {
		name := strings.TrimSuffix(key, ".json")
		prof, err := node.ParseProfile(key, []byte(m.profiles.Data[key]))
		if err != nil {
			t.Fatal(err)
		}
		// The example pod, pointed at this profile.
		pod := m.pod.DeepCopy()
		pod.Annotations["hwcap.dev/profile"] = name
		terms := pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		for i := range terms {
			for j := range terms[i].MatchExpressions {
				terms[i].MatchExpressions[j].Key = strings.Replace(terms[i].MatchExpressions[j].Key, "profile."+base, "profile."+name, 1)
			}
		}
		tab, _ := hwcap.Lookup(prof.Arch)
		allow := tab.Names(prof.Words)
		// The node's hook and hwcap-runtime accept the pod's annotations
		// and resolve them to the profile's features.
		cfg := config.Defaults()
		cfg.ProfileDir = profDir
		req, err := cfg.RequestFor(pod.Annotations, tab)
		if err != nil {
			t.Fatalf("profile %s: annotations %v: %v", name, pod.Annotations, err)
		}
		if keep, err := req.Keep(); err != nil || keep != prof.Words {
			t.Errorf("profile %s: annotation resolves to %s (%v), want %s", name, keep, err, prof.Words)
		}
		for _, c := range captures {
			n, err := node.ReadFile(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			has := map[string]bool{}
			for _, f := range n.Names() {
				has[f] = true
			}
			want := n.Arch == prof.Arch
			for _, f := range allow {
				want = want && has[f]
			}
			l := nodeLabels(t, c, profDir)
			got := rcSel.Matches(l)
			matched := false
			for _, term := range terms {
				matched = matched || selector(t, term.MatchExpressions).Matches(l)
			}
			got = got && matched
			if got != want {
				t.Errorf("profile %s on %s: schedulable=%v, want %v", name, filepath.Base(c), got, want)
			}
			if got {
				scheduled++
				var out, errb bytes.Buffer
				if code := ctl.Main([]string{"check", "--profile", filepath.Join(profDir, key), "--host", c}, &out, &errb); code != ctl.ExitOK {
					t.Errorf("scheduled onto %s but hwcapctl check says %s", filepath.Base(c), out.String())
				}
			}
		}
	}
	if scheduled == 0 {
		t.Error("the example pod fits no node")
	}
}
