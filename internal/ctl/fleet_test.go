package ctl

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

// names parses a capture and returns its feature names as a set (the
// parser itself is tested against the raw lines in package node).
func names(t *testing.T, file string) map[string]bool {
	t.Helper()
	n, err := node.ReadFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, f := range n.Names() {
		m[f] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	out := []string{}
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func same(a, b []string) bool { return strings.Join(sorted(a), " ") == strings.Join(sorted(b), " ") }

func TestBaselineCLI(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		capture("arm64-ref-graviton2-neoverse-n1.txt"),
		capture("arm64-ref-graviton3-neoverse-v1.txt"),
		capture("arm64-ref-graviton4-neoverse-v2.txt"),
	}
	// Expected: the intersection and, per node, the union minus its set.
	common, union := map[string]bool{}, map[string]bool{}
	for i, f := range files {
		s := names(t, f)
		for k := range s {
			union[k] = true
		}
		if i == 0 {
			for k := range s {
				common[k] = true
			}
		}
		for k := range common {
			common[k] = s[k]
		}
	}
	out := filepath.Join(dir, "fleet.json")
	writeFile(t, out, "old content\n")
	r := mustRun(t, ExitOK, append([]string{"baseline", "-o", out, "--description", "fleet"}, files...)...)
	if r.stdout != "" {
		t.Errorf("with -o, stdout should be empty: %q", r.stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	p, err := hwcap.ParseProfile(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p.Arch != "arm64" || p.Description != "fleet" || !same(p.Allow, sortedKeys(common)) {
		t.Errorf("profile %+v\nwant allow %v", p, sortedKeys(common))
	}
	for _, file := range files {
		s := names(t, file)
		var lack []string
		for k := range union {
			if !s[k] {
				lack = append(lack, k)
			}
		}
		if len(lack) == 0 {
			continue
		}
		line := ""
		for _, l := range strings.Split(r.stderr, "\n") {
			if strings.Contains(l, filepath.Base(file)) {
				line = l
			}
		}
		got := strings.Fields(strings.SplitN(line, "lacks:", 2)[len(strings.SplitN(line, "lacks:", 2))-1])
		if !strings.Contains(line, "lacks:") || !same(got, lack) {
			t.Errorf("stderr line for %s: %q, want lacks %v", file, line, sorted(lack))
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}

	// Without -o the profile goes to stdout; --json adds the report.
	r = mustRun(t, ExitOK, append([]string{"baseline"}, files...)...)
	if _, err := hwcap.ParseProfile(strings.NewReader(r.stdout)); err != nil {
		t.Errorf("stdout is not a profile: %v", err)
	}
	rep := decode[baselineReport](t, mustRun(t, ExitOK, append([]string{"baseline", "--json"}, files...)...).stdout)
	if !same(rep.Common, sortedKeys(common)) || len(rep.Lacks) != 3 || len(rep.Nodes) != 3 || rep.Profile == nil {
		t.Errorf("report %+v", rep)
	}
}

// TestBaselineNodeList: `kubectl get nodes -o json` of three nodes labelled
// by `hwcapctl nfd` (internal/node/testdata) gives the same profile as
// their captures; check wants one node and says how to get it.
func TestBaselineNodeList(t *testing.T) {
	list := filepath.Join("..", "node", "testdata", "nodelist-graviton.json")
	files := []string{
		capture("arm64-ref-graviton2-neoverse-n1.txt"),
		capture("arm64-ref-graviton3-neoverse-v1.txt"),
		capture("arm64-ref-graviton4-neoverse-v2.txt"),
	}
	want := decode[baselineReport](t, mustRun(t, ExitOK, append([]string{"baseline", "--json", "--description", "x"}, files...)...).stdout)
	r := mustRun(t, ExitOK, "baseline", "--json", "--description", "x", list)
	got := decode[baselineReport](t, r.stdout)
	if !same(got.Common, want.Common) || !same(got.Dropped, want.Dropped) || len(got.Lacks) != 3 ||
		!same(got.Nodes, []string{"node/ip-10-0-1-17.eu-west-1.compute.internal", "node/ip-10-0-2-41.eu-west-1.compute.internal", "node/ip-10-0-3-9.eu-west-1.compute.internal"}) {
		t.Errorf("baseline of the NodeList %+v\nwant the captures' %+v", got, want)
	}
	if !strings.Contains(r.stderr, "node/ip-10-0-2-41.eu-west-1.compute.internal lacks: sb sve2") {
		t.Errorf("summary %q", r.stderr)
	}
	// A list and more files together; stdin too.
	data, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, string(data), "baseline", "--json", "-", capture("arm64-a64fx.txt")); r.code != ExitOK || len(decode[baselineReport](t, r.stdout).Nodes) != 4 {
		t.Errorf("list on stdin plus a capture: %+v", r)
	}
	r = run(t, "", "check", "--profile", capture("arm64-neoverse-n1.txt"), "--host", list)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "3 nodes (a Kubernetes NodeList); this reads one: kubectl get node NAME -o json") {
		t.Errorf("check --host NodeList: %+v", r)
	}
}

// TestRoundTrip: features --json of this host and of captures feed
// baseline and check, through files and stdin.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	host := writeFile(t, filepath.Join(dir, "host.json"), mustRun(t, ExitOK, "features", "--json").stdout)
	// The host against itself: identical.
	c := decode[checkReport](t, mustRun(t, ExitOK, "check", "--profile", host, "--json").stdout)
	if c.Verdict != node.Identical || len(c.Blocking) != 0 || len(c.Extra) != 0 {
		t.Errorf("host vs its own description: %+v", c)
	}
	// A baseline of the host and an older x86 generation runs here.
	other := capture("x86-ref-intel-sandybridge.txt")
	hostNames := names(t, host)
	if hostNames["fpu"] { // x86_64 host
		prof := filepath.Join(dir, "p.json")
		mustRun(t, ExitOK, "baseline", host, other, "-o", prof)
		c = decode[checkReport](t, mustRun(t, ExitOK, "check", "--profile", prof, "--json").stdout)
		s := names(t, other)
		var extra []string
		for k := range hostNames {
			if !s[k] {
				extra = append(extra, k)
			}
		}
		want := node.Superset
		if len(extra) == 0 {
			want = node.Identical
		}
		if c.Verdict != want || !same(c.Extra, extra) || len(c.Blocking) != 0 {
			t.Errorf("host vs baseline(host, sandybridge): %+v, want %s extra %v", c, want, sorted(extra))
		}
	}
	// A capture converted to a description reads back the same.
	conv := mustRun(t, ExitOK, "features", "--from", capture("arm64-ref-graviton3-neoverse-v1.txt"), "--json").stdout
	r := run(t, conv, "check", "--profile", capture("arm64-ref-graviton3-neoverse-v1.txt"), "--host", "-", "--json")
	if r.code != ExitOK || decode[checkReport](t, r.stdout).Verdict != node.Identical {
		t.Errorf("capture vs its description via stdin: %d %s", r.code, r.stdout)
	}
}

func TestCheckCLI(t *testing.T) {
	cases := map[string]struct {
		profile, host string
		verdict       string
		code          int
	}{
		"n1 on v2":      {"arm64-ref-graviton2-neoverse-n1.txt", "arm64-ref-graviton4-neoverse-v2.txt", node.Superset, ExitOK},
		"v2 on n1":      {"arm64-ref-graviton4-neoverse-v2.txt", "arm64-ref-graviton2-neoverse-n1.txt", node.Incompatible, ExitFail},
		"v1 on v2":      {"arm64-ref-graviton3-neoverse-v1.txt", "arm64-ref-graviton4-neoverse-v2.txt", node.Incompatible, ExitFail},
		"v1 on v1":      {"arm64-ref-graviton3-neoverse-v1.txt", "arm64-ref-graviton3-neoverse-v1.txt", node.Identical, ExitOK},
		"icelake on sb": {"x86-ref-intel-icelake-vm.txt", "x86-ref-intel-sandybridge.txt", node.Incompatible, ExitFail},
		"arm on x86":    {"arm64-ref-graviton2-neoverse-n1.txt", "x86-ref-intel-icelake-vm.txt", node.Incompatible, ExitFail},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, h := capture(tc.profile), capture(tc.host)
			c := decode[checkReport](t, mustRun(t, tc.code, "check", "--profile", p, "--host", h, "--json").stdout)
			if c.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", c.Verdict, tc.verdict)
			}
			ps, hs := names(t, p), names(t, h)
			var blocking []string
			for k := range ps {
				if !hs[k] {
					blocking = append(blocking, k)
				}
			}
			if c.Arch == c.HostArch && !same(c.Blocking, blocking) {
				t.Errorf("blocking %v, want %v", c.Blocking, sorted(blocking))
			}
			human := mustRun(t, tc.code, "check", "--profile", p, "--host", h)
			if !strings.HasPrefix(human.stdout, tc.verdict+":") {
				t.Errorf("human output %q does not start with the verdict", human.stdout)
			}
			if tc.verdict == node.Incompatible && c.Arch == c.HostArch && !strings.Contains(human.stdout, strings.Join(c.Blocking, " ")) {
				t.Errorf("human output does not list the blocking features %v", c.Blocking)
			}
		})
	}
}

func TestExplainCLI(t *testing.T) {
	dir := t.TempDir()
	n1prof := filepath.Join(dir, "n1.json")
	mustRun(t, ExitOK, "baseline", capture("arm64-ref-graviton2-neoverse-n1.txt"), "-o", n1prof)
	cases := map[string]struct {
		args     []string
		hidden   []string // nil: compute from host minus profile
		security []string // must all be flagged
		notSec   []string // must not be flagged
		notes    []string // substrings of notes
	}{
		"n1 profile on v2 host": {
			args:     []string{n1prof, "--host", capture("arm64-ref-graviton4-neoverse-v2.txt")},
			security: []string{"paca", "pacg", "bti"},
			notSec:   []string{"sve2", "sb", "sve"},
			notes:    []string{"weakens security", "cpuid stays visible"},
		},
		"n1 profile on v1 host": {
			args:     []string{n1prof, "--host", capture("arm64-ref-graviton3-neoverse-v1.txt")},
			security: []string{"paca", "pacg"},
			notSec:   []string{"bti", "sve"}, // v1 has no bti: nothing to hide
		},
		"deny list": {
			args:     []string{"deny:paca,sve2,cpuid", "--arch", "arm64"},
			hidden:   []string{"paca", "sve2", "cpuid"},
			security: []string{"paca"},
			notSec:   []string{"sve2", "pacg"},
		},
		"raw hwcap2=0 hides bti and mte": {
			args:     []string{"hwcap2=0x0", "--arch", "arm64"},
			security: []string{"bti", "mte", "mte3"},
			notSec:   []string{"paca", "sve2"},
		},
		"x86 note": {
			args:   []string{"deny:sse2", "--arch", "x86_64"},
			hidden: []string{"sse2"},
			notes:  []string{"CPUID"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rep := decode[explainReport](t, mustRun(t, ExitOK, append([]string{"explain", "--json"}, tc.args...)...).stdout)
			tab, err := hwcap.Lookup(rep.Arch)
			if err != nil {
				t.Fatal(err)
			}
			if tc.hidden != nil && !same(rep.Hidden, tc.hidden) {
				t.Errorf("hidden %v, want %v", rep.Hidden, tc.hidden)
			}
			if tc.hidden == nil && len(tc.args) == 3 && tc.args[1] == "--host" {
				hs, ps := names(t, tc.args[2]), names(t, tc.args[0])
				var want []string
				for k := range hs {
					if !ps[k] {
						want = append(want, k)
					}
				}
				if !same(rep.Hidden, want) {
					t.Errorf("hidden %v, want host minus profile %v", rep.Hidden, sorted(want))
				}
			}
			flagged := map[string]bool{}
			for _, s := range rep.Security {
				flagged[s] = true
				if f, ok := tab.Feature(s); !ok || !f.Security {
					t.Errorf("%s flagged but not a security feature in the table", s)
				}
			}
			hidden := map[string]bool{}
			for _, h := range rep.Hidden {
				hidden[h] = true
				if f, _ := tab.Feature(h); f.Security && !flagged[h] {
					t.Errorf("hidden security feature %s not flagged", h)
				}
			}
			for _, s := range tc.security {
				if !flagged[s] || !hidden[s] {
					t.Errorf("%s not flagged (security %v)", s, rep.Security)
				}
			}
			for _, s := range tc.notSec {
				if flagged[s] {
					t.Errorf("%s flagged", s)
				}
			}
			all := strings.Join(rep.Notes, "\n")
			for _, n := range tc.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes %q lack %q", rep.Notes, n)
				}
			}
			human := mustRun(t, ExitOK, append([]string{"explain"}, tc.args...)...).stdout
			if (len(rep.Security) > 0) != strings.Contains(human, "SECURITY: hides "+strings.Join(rep.Security, " ")) {
				t.Errorf("human output and security list disagree:\n%s", human)
			}
		})
	}
}

// TestCheckNodes: can every node of a fleet run a profile; exit 0 only when
// all can.
func TestCheckNodes(t *testing.T) {
	list := filepath.Join("..", "node", "testdata", "nodelist-graviton.json")
	prof := filepath.Join("..", "criuimg", "testdata", "arm64", "profile.json") // baseline of a64fx and N1
	r := mustRun(t, ExitOK, "check", "--profile", prof, "--nodes", list)
	if !strings.Contains(r.stdout, "runs on 3 of 3 node(s)") || strings.Count(r.stdout, "  superset     node/") != 3 {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	// One older node in the fleet: exit 1, that node named with what it lacks.
	r = mustRun(t, ExitFail, "check", "--profile", prof, "--nodes", list, "--nodes", capture("arm64-cortex-a72.txt"))
	if !strings.Contains(r.stdout, "runs on 3 of 4 node(s)") || !strings.Contains(r.stdout, "arm64-cortex-a72.txt (Cortex-A72) (lacks atomics") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	rep := decode[checkNodesReport](t, mustRun(t, ExitFail, "check", "--json", "--profile", prof, "--nodes", capture("x86_64-host.txt")).stdout)
	if rep.Capable != 0 || len(rep.Nodes) != 1 || strings.Join(rep.Nodes[0].Blocking, " ") != "arch amd64" {
		t.Errorf("report %+v", rep)
	}
	if r := run(t, "", "check", "--profile", prof, "--host", list, "--nodes", list); r.code != ExitUsage || !strings.Contains(r.stderr, "--host and --nodes exclude each other") {
		t.Errorf("--host with --nodes: %+v", r)
	}
}
