package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Version is the schema version of a node description; it is the same
// API group/version string profiles use.
const Version = hwcap.ProfileVersion

// Description is the JSON form of a node (`hwcapctl features --json`):
//
//	{
//	  "version": "hwcap.dev/v1",
//	  "kind": "node",
//	  "hostname": "ip-10-0-0-1",
//	  "arch": "arm64",
//	  "kernel": "6.18.0-1-arm64",
//	  "model": "Neoverse-N1",
//	  "words": {"hwcap": "0x119fff", "hwcap2": "0x0"},
//	  "features": ["fp", "asimd", ...]
//	}
//
// words holds AT_HWCAP..AT_HWCAP4 as hex strings (JSON numbers lose bits
// above 2^53 in many readers). features is the same set by name. When a
// file has both, they must agree on every bit the table names; when it has
// only features (hand-written), the words are computed from them; a word
// bit this build does not name is kept (a newer kernel's feature) and
// shows up as "hwcap2:bitN".
type Description struct {
	Version  string            `json:"version"`
	Kind     string            `json:"kind"`
	Hostname string            `json:"hostname,omitempty"`
	Arch     string            `json:"arch"`
	Kernel   string            `json:"kernel,omitempty"`
	Model    string            `json:"model,omitempty"`
	Words    map[string]string `json:"words,omitempty"`
	Features []string          `json:"features"`
}

// Describe returns the JSON form of n.
func (n *Node) Describe() *Description {
	d := &Description{
		Version:  Version,
		Kind:     KindNode,
		Hostname: n.Hostname,
		Arch:     n.Arch,
		Kernel:   n.Kernel,
		Model:    n.Model,
		Words:    map[string]string{},
		Features: n.Names(),
	}
	for i, name := range hwcap.WordName {
		d.Words[name] = "0x" + strconv.FormatUint(n.Words[i], 16)
	}
	if d.Features == nil {
		d.Features = []string{}
	}
	return d
}

// Encode writes the JSON description of n, indented, with a newline.
func (n *Node) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(n.Describe())
}

// ParseDescription reads a node description (strictly: unknown fields,
// trailing data, a wrong version or kind are errors).
func ParseDescription(source string, data []byte) (*Node, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadInput, source, fmt.Sprintf(format, a...))
	}
	if len(data) > MaxInputSize {
		return nil, bad("larger than %d bytes", MaxInputSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Description
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %s: %w (want `hwcapctl features --json` output)", ErrBadInput, source, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("trailing data after the JSON object")
	}
	if d.Version != Version {
		return nil, bad("version %q (want %q)", d.Version, Version)
	}
	if d.Kind != KindNode {
		return nil, bad("kind %q (want %q)", d.Kind, KindNode)
	}
	t, err := hwcap.Lookup(d.Arch)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, source, err)
	}
	for _, f := range []struct{ name, v string }{{"hostname", d.Hostname}, {"kernel", d.Kernel}, {"model", d.Model}} {
		if len(f.v) > MaxTextLen || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, bad("%s %.40q is longer than %d bytes or has control characters or invalid UTF-8", f.name, f.v, MaxTextLen)
		}
	}
	n := &Node{Source: source, Kind: KindNode, Arch: t.Arch, Hostname: d.Hostname, Kernel: d.Kernel, Model: d.Model}
	if d.Features == nil {
		return nil, bad("no \"features\" list (write \"features\": [] for a node without any)")
	}
	named, unnamed, err := featureBits(t, d.Features)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadInput, source, err)
	}
	if d.Words == nil {
		n.Words = named.Or(unnamed)
		return n, nil
	}
	for key, val := range d.Words {
		i := wordIndex(key)
		if i < 0 {
			return nil, bad("words: unknown word %q (want %s)", key, strings.Join(hwcap.WordName[:], ", "))
		}
		v, err := strconv.ParseUint(val, 0, 64)
		if err != nil {
			return nil, bad("words: %s value %q is not a 64-bit number (want e.g. \"0x119fff\")", key, val)
		}
		n.Words[i] = v
	}
	if known := n.Words.And(t.Known()); known != named {
		return nil, bad("\"features\" and \"words\" disagree: listed but not in words [%s], in words but not listed [%s] (edit both, or drop \"words\")",
			t.Render(named.AndNot(known)), t.Render(known.AndNot(named)))
	}
	if !unnamed.SubsetOf(n.Words) {
		return nil, bad("\"features\" has bits [%s] that \"words\" lacks (edit both, or drop \"words\")", t.Render(unnamed.AndNot(n.Words)))
	}
	return n, nil
}

// featureBits resolves names (and "hwcapN:bitB" for unnamed bits).
func featureBits(t *hwcap.Table, names []string) (named, unnamed hwcap.Words, err error) {
	for _, name := range names {
		if w, b, ok := parseBitName(name); ok {
			if t.Known().Has(w, b) {
				return named, unnamed, fmt.Errorf("%q is the known feature %q: use its name", name, t.Names(bitWords(w, b))[0])
			}
			unnamed = unnamed.Or(bitWords(w, b))
			continue
		}
		if err := checkToken(name); err != nil {
			return named, unnamed, err
		}
		bits, err := t.Bits([]string{name})
		if err != nil {
			return named, unnamed, err
		}
		named = named.Or(bits)
	}
	return named, unnamed, nil
}

// parseBitName parses "hwcap2:bit5" as Table.Names renders unnamed bits.
func parseBitName(s string) (word int, bit uint, ok bool) {
	w, b, found := strings.Cut(s, ":bit")
	if !found {
		return 0, 0, false
	}
	word = wordIndex(w)
	n, err := strconv.ParseUint(b, 10, 8)
	if word < 0 || err != nil || n > 63 || strconv.FormatUint(n, 10) != b {
		return 0, 0, false
	}
	return word, uint(n), true
}

func bitWords(word int, bit uint) hwcap.Words {
	var w hwcap.Words
	w[word] = 1 << bit
	return w
}

func wordIndex(name string) int {
	for i, n := range hwcap.WordName {
		if n == name {
			return i
		}
	}
	return -1
}
