package ctl

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/nfd"
	"github.com/hwcap/hwcap/internal/nfd/nfdtest"
	"github.com/hwcap/hwcap/internal/node"
)

func TestNFDFromCapture(t *testing.T) {
	dir, profiles := t.TempDir(), t.TempDir()
	v2 := capture("arm64-ref-graviton4-neoverse-v2.txt")
	// Profiles: two the V2 node satisfies, one it does not (sm3 is V1's),
	// one for x86 (skipped in a mixed cluster's shared directory).
	mustRun(t, ExitOK, "baseline", capture("arm64-ref-graviton2-neoverse-n1.txt"), "-o", filepath.Join(profiles, "graviton2.json"))
	mustRun(t, ExitOK, "baseline", v2, "-o", filepath.Join(profiles, "graviton4.json"))
	mustRun(t, ExitOK, "baseline", capture("arm64-ref-graviton3-neoverse-v1.txt"), "-o", filepath.Join(profiles, "graviton3.json"))
	mustRun(t, ExitOK, "baseline", capture("x86-ref-intel-sandybridge.txt"), "-o", filepath.Join(profiles, "sandybridge.json"))
	writeFile(t, filepath.Join(profiles, "README"), "not a profile\n")

	rep := decode[nfdReport](t, mustRun(t, ExitOK, "nfd", "--host", v2, "--dir", dir, "--profiles", profiles, "--json").stdout)
	path := filepath.Join(dir, "hwcap")
	if rep.Path != path || !rep.Changed {
		t.Errorf("report %+v", rep)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	labels, err := nfdtest.Read("hwcap", data, time.Now())
	if err != nil {
		t.Fatalf("NFD would not accept the file: %v\n%s", err, data)
	}
	want := map[string]string{
		"hwcap.dev/profile.graviton2": "true",
		"hwcap.dev/profile.graviton4": "true",
	}
	for f := range names(t, v2) {
		want["hwcap.dev/arm64."+f] = "true"
	}
	if !sameMap(labels, want) || !sameMap(rep.Labels, want) {
		t.Errorf("labels\n got %v\nwant %v", sortedMapKeys(labels), sortedMapKeys(want))
	}
	if strings.Join(rep.Profiles, " ") != "graviton2 graviton4" {
		t.Errorf("profiles %v", rep.Profiles)
	}

	// Same input: nothing rewritten.
	before, _ := os.Stat(path)
	r := mustRun(t, ExitOK, "nfd", "--host", v2, "--dir", dir, "--profiles", profiles)
	if !strings.Contains(r.stdout, "unchanged") {
		t.Errorf("second run: %q", r.stdout)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
		t.Error("unchanged file rewritten")
	}

	// Another node: rewritten in place, no temporary left behind.
	r = mustRun(t, ExitOK, "nfd", "--host", capture("arm64-ref-graviton2-neoverse-n1.txt"), "--dir", dir, "--profiles", profiles, "--expiry", "1h")
	if !strings.Contains(r.stdout, "written") {
		t.Errorf("third run: %q", r.stdout)
	}
	data, _ = os.ReadFile(path)
	labels, err = nfdtest.Read("hwcap", data, time.Now())
	if err != nil || labels["hwcap.dev/profile.graviton4"] != "" || labels["hwcap.dev/profile.graviton2"] != "true" || labels["hwcap.dev/arm64.sve2"] != "" {
		t.Errorf("n1 labels %v (%v)", sortedMapKeys(labels), err)
	}
	if l, _ := nfdtest.Read("hwcap", data, time.Now().Add(2*time.Hour)); len(l) != 0 {
		t.Errorf("labels survive their expiry: %v", l)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %v", ents)
	}
}

// TestNFDProfileDirProblems: a profile that cannot be loaded or cannot be
// a label is skipped (exit 2, named on stderr), the rest is still written.
func TestNFDProfileDirProblems(t *testing.T) {
	dir, profiles := t.TempDir(), t.TempDir()
	n1 := capture("arm64-ref-graviton2-neoverse-n1.txt")
	mustRun(t, ExitOK, "baseline", n1, "-o", filepath.Join(profiles, "good.json"))
	writeFile(t, filepath.Join(profiles, "Bad.json"), `{}`)
	writeFile(t, filepath.Join(profiles, "broken.json"), `{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","sve3"]}`)
	writeFile(t, filepath.Join(profiles, "ends-with-dash-.json"), `{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp"]}`)
	outside := writeFile(t, filepath.Join(t.TempDir(), "outside.json"), `{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp"]}`)
	if err := os.Symlink(outside, filepath.Join(profiles, "escape.json")); err != nil {
		t.Fatal(err)
	}
	// A ConfigMap volume: NAME.json -> ..data/NAME.json inside the dir.
	if err := os.MkdirAll(filepath.Join(profiles, "..data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(profiles, "..data", "cm.json"), `{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","asimd"]}`)
	if err := os.Symlink("..data/cm.json", filepath.Join(profiles, "cm.json")); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, ExitUsage, "nfd", "--host", n1, "--dir", dir, "--profiles", profiles)
	for _, want := range []string{`"Bad"`, `"broken"`, `unknown feature "sve3"`, `"ends-with-dash-"`, `"escape"`, "skipped 4 profile(s)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "hwcap"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := nfdtest.Read("hwcap", data, time.Now())
	if err != nil || labels["hwcap.dev/profile.good"] != "true" || labels["hwcap.dev/profile.cm"] != "true" || labels["hwcap.dev/arm64.fp"] != "true" {
		t.Errorf("labels %v (%v)", sortedMapKeys(labels), err)
	}
	for k := range labels {
		if strings.Contains(k, "escape") || strings.Contains(k, "broken") {
			t.Errorf("label %s from a refused profile", k)
		}
	}
}

// TestNFDThisHost labels this machine, with the kernel probe's verdict.
func TestNFDThisHost(t *testing.T) {
	t.Setenv("HWCAP_RUN_DIR", t.TempDir())
	dir := t.TempDir()
	rep := decode[nfdReport](t, mustRun(t, ExitOK, "nfd", "--dir", dir, "--profiles", t.TempDir(), "--prefix", "hwcap.feature.node.kubernetes.io", "--json").stdout)
	host := decode[probeReport](t, mustRun(t, ExitOK, "probe", "--json").stdout)
	want := "false"
	if host.Inherits {
		want = "true"
	}
	if rep.Labels["hwcap.feature.node.kubernetes.io/kernel.inherit"] != want {
		t.Errorf("kernel.inherit %q, probe says inherits=%v", rep.Labels["hwcap.feature.node.kubernetes.io/kernel.inherit"], host.Inherits)
	}
	n := mustRun(t, ExitOK, "features", "--json").stdout
	hostFile := writeFile(t, filepath.Join(t.TempDir(), "host.json"), n)
	desc, err := node.ParseDescription("features", []byte(n))
	if err != nil {
		t.Fatal(err)
	}
	arch, count := desc.Arch, 0
	for f := range names(t, hostFile) {
		count++
		if rep.Labels["hwcap.feature.node.kubernetes.io/"+arch+"."+f] != "true" {
			t.Errorf("no label for host feature %s", f)
		}
	}
	if len(rep.Labels) != count+1 {
		t.Errorf("%d labels for %d features + kernel.inherit", len(rep.Labels), count)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "hwcap"))
	if _, err := nfdtest.Read("hwcap", data, time.Now()); err != nil {
		t.Errorf("NFD would not accept the file: %v", err)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sortedMapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestEveryFeatureIsALabel: every feature of every architecture's table
// makes a label Kubernetes accepts, so nfd never fails on a real node.
func TestEveryFeatureIsALabel(t *testing.T) {
	n := 0
	for _, arch := range hwcap.Arches() {
		tab, err := hwcap.Lookup(arch)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tab.Features {
			key := nfd.FeatureKey(nfd.DefaultPrefix, arch, f.Name)
			if err := nfd.ValidateKey(key); err != nil {
				t.Errorf("%s: %v", key, err)
			}
			if errs := validation.IsQualifiedName(key); len(errs) > 0 {
				t.Errorf("%s: %v", key, errs)
			}
			n++
		}
	}
	if n < 200 {
		t.Errorf("only %d features in %v", n, hwcap.Arches())
	}
}
