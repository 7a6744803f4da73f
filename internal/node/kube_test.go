package node_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/node"
)

const nodeList = "testdata/nodelist-graviton.json"

// TestParseKubeNodeList: `kubectl get nodes -o json` of three Graviton
// nodes labelled by `hwcapctl nfd --host CAPTURE` gives the captures' words.
func TestParseKubeNodeList(t *testing.T) {
	data, err := os.ReadFile(nodeList)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := node.ParseAll(nodeList, data)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, capture, kernel string }{
		{"ip-10-0-1-17.eu-west-1.compute.internal", "arm64-ref-graviton2-neoverse-n1.txt", "6.1.0-27-cloud-arm64"},
		{"ip-10-0-2-41.eu-west-1.compute.internal", "arm64-ref-graviton3-neoverse-v1.txt", "6.1.0-27-cloud-arm64"},
		{"ip-10-0-3-9.eu-west-1.compute.internal", "arm64-ref-graviton4-neoverse-v2.txt", "6.12.9-cloud-arm64"},
	}
	if len(nodes) != len(want) {
		t.Fatalf("%d nodes, want %d", len(nodes), len(want))
	}
	for i, w := range want {
		n := nodes[i]
		c, err := node.ReadFile(filepath.Join(captureDir, w.capture), nil)
		if err != nil {
			t.Fatal(err)
		}
		if n.Kind != node.KindKube || n.Arch != "arm64" || n.Hostname != w.name || n.Source != "node/"+w.name || n.Kernel != w.kernel ||
			n.Words != c.Known() || len(n.Unknown) != 0 {
			t.Errorf("node %d: %+v, want words %v of %s", i, n, c.Known(), w.capture)
		}
	}
	// One node alone is a single input; the list is not.
	if _, err := node.ReadFile(nodeList, nil); err == nil || !strings.Contains(err.Error(), "3 nodes (a Kubernetes NodeList); this reads one: kubectl get node NAME -o json") {
		t.Errorf("ReadFile of a 3-node list: %v", err)
	}
	var list map[string]any
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	one, _ := json.Marshal(list["items"].([]any)[1])
	n, err := node.ReadFile("-", strings.NewReader(string(one)))
	if err != nil || n.Hostname != want[1].name {
		t.Errorf("ReadFile of one Node: %+v, %v", n, err)
	}
}

func TestParseKubeErrors(t *testing.T) {
	item := func(name, arch string, labels map[string]string) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": name, "labels": labels},
			"status": map[string]any{"nodeInfo": map[string]any{"architecture": arch, "kernelVersion": "6.1.0"}}}
	}
	ok := map[string]string{"hwcap.dev/arm64.fp": "true", "hwcap.dev/arm64.asimd": "true", "hwcap.dev/kernel.inherit": "false", "hwcap.dev/profile.fleet": "true"}
	list := func(items ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "NodeList", "items": items})
		return string(b)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"no labels":       {list(item("a", "arm64", ok), item("b", "arm64", map[string]string{"kubernetes.io/arch": "arm64"})), `node b has no hwcap.dev/<arch>.<feature> labels (is the hwcap node agent running there? list only labelled nodes: kubectl get nodes -l hwcap.dev/installed=true -o json)`},
		"two arches":      {list(item("a", "arm64", map[string]string{"hwcap.dev/arm64.fp": "true", "hwcap.dev/amd64.fpu": "true"})), `node a has feature labels for amd64 and arm64`},
		"not true":        {list(item("a", "arm64", map[string]string{"hwcap.dev/arm64.sve": "false"})), `label hwcap.dev/arm64.sve="false" (feature labels are "true"`},
		"arch mismatch":   {list(item("a", "amd64", ok)), `status.nodeInfo.architecture "amd64" but feature labels for arm64 (stale labels?)`},
		"twice":           {list(item("a", "arm64", ok), item("a", "arm64", ok)), `node "a" listed twice`},
		"empty":           {list(), `the NodeList has no nodes`},
		"no name":         {list(item("", "arm64", ok)), `a node without metadata.name`},
		"not json":        {`{"apiVersion":"v1","kind":"NodeList","items":[{]}`, `invalid character`},
		"control in name": {list(item("a\x1b[31m", "arm64", map[string]string{"x": "y"})), `node a [31m has no`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := node.ParseAll("nodes.json", []byte(tc.in))
			if !errors.Is(err, node.ErrBadInput) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err %v, want one line with %q", err, tc.want)
			}
		})
	}
	// Unknown feature names (a newer kernel) are reported, not kept.
	nodes, err := node.ParseAll("nodes.json", []byte(list(item("a", "arm64", map[string]string{"hwcap.dev/arm64.fp": "true", "hwcap.dev/arm64.sve9": "true"}))))
	if err != nil || len(nodes) != 1 || strings.Join(nodes[0].Unknown, " ") != "sve9" || nodes[0].Words[0] != 1 {
		t.Fatalf("unknown feature: %+v %v", nodes, err)
	}
}

func FuzzParseAll(f *testing.F) {
	if b, err := os.ReadFile(nodeList); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"Node","metadata":{"name":"n","labels":{"hwcap.dev/amd64.fpu":"true"}}}`))
	f.Add([]byte(`{"version":"hwcap.dev/v1","arch":"arm64","allow":["sve2"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := node.ParseAll("fuzz", data)
		if err != nil {
			if !errors.Is(err, node.ErrBadInput) {
				t.Fatalf("error does not wrap ErrBadInput: %v", err)
			}
			return
		}
		if len(nodes) == 0 {
			t.Fatal("no nodes and no error")
		}
		for _, n := range nodes {
			tab, err := n.Table()
			if err != nil {
				t.Fatal(err)
			}
			if !n.Words.SubsetOf(tab.Known()) && n.Kind == node.KindKube {
				t.Fatalf("a labelled node has bits no feature names: %v", n.Words)
			}
			if strings.ContainsAny(n.Source+n.Hostname+n.Kernel, "\x00\n\x1b") {
				t.Fatalf("control characters kept: %q %q %q", n.Source, n.Hostname, n.Kernel)
			}
		}
	})
}
