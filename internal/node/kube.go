package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// KindKube is a node read from a Kubernetes Node object's labels
// (`kubectl get nodes -o json`), as `hwcapctl nfd` and node-feature-
// discovery put them there.
const KindKube = "kubernetes"

// LabelPrefix is the namespace of the labels `hwcapctl nfd` writes with
// its default --prefix: LabelPrefix + "<arch>.<feature>" = "true".
const LabelPrefix = "hwcap.dev/"

// MaxNodeListSize bounds a `kubectl get nodes -o json` input: a Node
// object is 5–15 kB, so 64 MiB is a few thousand nodes.
const MaxNodeListSize = 64 << 20

// kubeObject is the part of a Node or NodeList hwcap reads; everything
// else in these large objects is ignored.
type kubeObject struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Items      []kubeNode `json:"items"`
	kubeNode
}

type kubeNode struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Status struct {
		NodeInfo struct {
			KernelVersion string `json:"kernelVersion"`
			Architecture  string `json:"architecture"`
		} `json:"nodeInfo"`
	} `json:"status"`
}

// kubeKind returns "Node" or "NodeList" when data is such a Kubernetes
// object (apiVersion v1), else "": it reads only those two fields, so it
// tells a Node whose other fields are malformed from any other input.
func kubeKind(data []byte) string {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ""
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if json.Unmarshal(trimmed, &head) != nil || head.APIVersion != "v1" {
		return ""
	}
	if head.Kind == "Node" || head.Kind == "NodeList" {
		return head.Kind
	}
	return ""
}

// ParseAll reads any input kind, and also a Kubernetes Node or NodeList
// (`kubectl get node[s] ... -o json`): one Node per Kubernetes node, from
// its hwcap.dev/<arch>.<feature> labels. Every other kind gives one Node.
// A NodeList is decoded once; other inputs go to Parse.
func ParseAll(source string, data []byte) ([]*Node, error) {
	if len(data) > MaxNodeListSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrBadInput, source, MaxNodeListSize)
	}
	var obj kubeObject
	err := json.Unmarshal(data, &obj)
	switch {
	case err == nil && obj.APIVersion == "v1" && obj.Kind == "Node":
		return kubeNodes(source, []kubeNode{obj.kubeNode})
	case err == nil && obj.APIVersion == "v1" && obj.Kind == "NodeList":
		return kubeNodes(source, obj.Items)
	case err != nil && kubeKind(data) != "":
		// A Node or NodeList whose fields do not decode.
		return nil, fmt.Errorf("%w: %s: %w (want `kubectl get nodes -o json` output)", ErrBadInput, source, err)
	}
	n, err := Parse(source, data)
	if err != nil {
		return nil, err
	}
	return []*Node{n}, nil
}

// kubeNodes turns Kubernetes nodes into Nodes. A node without any
// hwcap.dev/<arch>.<feature> label is an error, not skipped: a baseline
// that left out a node would offer features that node lacks.
func kubeNodes(source string, items []kubeNode) ([]*Node, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: %s: the NodeList has no nodes (check the label selector of kubectl get nodes)", ErrBadInput, source)
	}
	nodes := make([]*Node, 0, len(items))
	seen := map[string]bool{}
	for i := range items {
		n, err := kubeToNode(source, &items[i])
		if err != nil {
			return nil, err
		}
		if seen[n.Hostname] {
			return nil, fmt.Errorf("%w: %s: node %q listed twice", ErrBadInput, source, n.Hostname)
		}
		seen[n.Hostname] = true
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// kubeToNode turns one Kubernetes node's labels into a Node.
func kubeToNode(source string, k *kubeNode) (*Node, error) {
	name := cleanText(k.Metadata.Name)
	if name == "" {
		return nil, fmt.Errorf("%w: %s: a node without metadata.name", ErrBadInput, source)
	}
	where := fmt.Sprintf("%s: node %s", source, name)
	perArch := map[string][]string{}
	for key, val := range k.Metadata.Labels {
		rest, ok := strings.CutPrefix(key, LabelPrefix)
		if !ok {
			continue
		}
		arch, feature, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		if _, err := hwcap.Lookup(arch); err != nil {
			continue // hwcap.dev/kernel.inherit, hwcap.dev/profile.NAME, ...
		}
		if val != "true" {
			return nil, fmt.Errorf("%w: %s: label %s=%.40q (feature labels are \"true\"; written by hwcapctl nfd)", ErrBadInput, where, cleanText(key), val)
		}
		perArch[arch] = append(perArch[arch], feature)
	}
	if len(perArch) == 0 {
		return nil, fmt.Errorf("%w: %s has no %s<arch>.<feature> labels (is the hwcap node agent running there? list only labelled nodes: kubectl get nodes -l %sinstalled=true -o json)", ErrBadInput, where, LabelPrefix, LabelPrefix)
	}
	if len(perArch) > 1 {
		archs := make([]string, 0, len(perArch))
		for a := range perArch {
			archs = append(archs, a)
		}
		sort.Strings(archs)
		return nil, fmt.Errorf("%w: %s has feature labels for %s (want one architecture; stale labels?)", ErrBadInput, where, strings.Join(archs, " and "))
	}
	var arch string
	var names []string
	for a, n := range perArch {
		arch, names = a, n
	}
	t, _ := hwcap.Lookup(arch)
	if ka := k.Status.NodeInfo.Architecture; ka != "" {
		if ca, err := hwcap.CanonicalArch(ka); err != nil || ca != t.Arch {
			return nil, fmt.Errorf("%w: %s: status.nodeInfo.architecture %.20q but feature labels for %s (stale labels?)", ErrBadInput, where, ka, t.Arch)
		}
	}
	sort.Strings(names)
	var known, unknown []string
	for _, f := range names {
		if _, err := t.Bits([]string{f}); err == nil {
			known = append(known, f)
		} else {
			unknown = append(unknown, cleanText(f))
		}
	}
	w, err := t.Bits(known)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, where, err)
	}
	return &Node{
		Source: "node/" + name, Kind: KindKube, Arch: t.Arch, Hostname: name,
		Kernel: cleanText(k.Status.NodeInfo.KernelVersion), Words: w, Unknown: slices.Clip(unknown),
	}, nil
}
