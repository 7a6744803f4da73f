package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Parse reads any input kind: a JSON object with "allow" is a profile, one
// with "kind" a node description, anything else a /proc/cpuinfo capture.
func Parse(source string, data []byte) (*Node, error) {
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrBadInput, source, MaxInputSize)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: %s: empty (want /proc/cpuinfo, `hwcapctl features --json` output or a profile)", ErrBadInput, source)
	}
	if trimmed[0] != '{' {
		return ParseCPUInfo(source, data)
	}
	// Look at the first JSON value only; the strict parsers below reject
	// trailing data with a clearer message.
	var probe map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(trimmed)).Decode(&probe); err != nil {
		return nil, fmt.Errorf("%w: %s: %w (want `hwcapctl features --json` output or a profile)", ErrBadInput, source, err)
	}
	if _, ok := probe["allow"]; ok {
		return ParseProfile(source, data)
	}
	return ParseDescription(source, data)
}

// ParseProfile reads a profile as a node whose words are its allow list.
func ParseProfile(source string, data []byte) (*Node, error) {
	p, err := hwcap.ParseProfile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, source, err)
	}
	t, err := hwcap.Lookup(p.Arch)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, source, err)
	}
	w, err := t.Bits(p.Allow)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, source, err)
	}
	return &Node{Source: source, Kind: KindProfile, Arch: t.Arch, Model: p.Description, Words: w}, nil
}

// ReadFile reads and parses one input file; "-" reads r instead (stdin).
// A Kubernetes Node object counts as one input; a NodeList of more than one
// node is an error here (ReadFileAll takes them all).
func ReadFile(path string, stdin io.Reader) (*Node, error) {
	nodes, err := ReadFileAll(path, stdin)
	if err != nil {
		return nil, err
	}
	if len(nodes) != 1 {
		return nil, fmt.Errorf("%w: %s: %d nodes (a Kubernetes NodeList); this reads one: kubectl get node NAME -o json", ErrBadInput, path, len(nodes))
	}
	return nodes[0], nil
}

// ReadFileAll reads one input file ("-": stdin) and parses it with
// ParseAll: a Kubernetes NodeList gives one Node per node.
func ReadFileAll(path string, stdin io.Reader) ([]*Node, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, MaxNodeListSize+1))
	} else {
		var f *os.File
		f, err = os.Open(path)
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(f, MaxNodeListSize+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return ParseAll(path, data)
}
