package ctl

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// hexWords is the JSON form of words: {"hwcap": "0x...", ...}.
func hexWords(w hwcap.Words) map[string]string {
	m := make(map[string]string, hwcap.NumWords)
	for i, name := range hwcap.WordName {
		m[name] = fmt.Sprintf("%#x", w[i])
	}
	return m
}

// nonNil keeps empty lists as [] in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// list renders names for humans; "-" for none.
func list(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	return strings.Join(names, " ")
}

// printWords prints one line per AT_HWCAPn word: value and feature names.
func printWords(w io.Writer, t *hwcap.Table, words hwcap.Words, indent string) {
	for i, name := range hwcap.WordName {
		var one hwcap.Words
		one[i] = words[i]
		fmt.Fprintf(w, "%s%-7s %-11s %-18s %s\n", indent, name, "(AT_"+strings.ToUpper(name)+")", fmt.Sprintf("%#x", words[i]), list(t.Names(one)))
	}
}

// readInputs parses each file ("-" is stdin, at most once) as one node.
func readInputs(e *env, files []string) ([]*node.Node, error) {
	return readFiles(files, func(f string) ([]*node.Node, error) {
		n, err := node.ReadFile(f, e.stdin)
		return []*node.Node{n}, err
	})
}

// readAllInputs is readInputs where a Kubernetes NodeList counts as all
// its nodes (baseline, check-image --nodes).
func readAllInputs(e *env, files []string) ([]*node.Node, error) {
	return readFiles(files, func(f string) ([]*node.Node, error) { return node.ReadFileAll(f, e.stdin) })
}

func readFiles(files []string, read func(string) ([]*node.Node, error)) ([]*node.Node, error) {
	stdin := 0
	for _, f := range files {
		if f == "-" {
			if stdin++; stdin > 1 {
				return nil, usagef("\"-\" (stdin) given twice")
			}
		}
	}
	var nodes []*node.Node
	for _, f := range files {
		ns, err := read(f)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, ns...)
	}
	return nodes, nil
}

// warnUnknown tells the user about cpuinfo names this build does not know.
func warnUnknown(e *env, nodes ...*node.Node) {
	for _, n := range nodes {
		if len(n.Unknown) > 0 {
			fmt.Fprintf(e.stderr, "hwcapctl: warning: %s: ignoring features this build does not know: %s (a newer kernel? update hwcapctl)\n", n.Source, strings.Join(n.Unknown, " "))
		}
	}
}

// checkOutput refuses an output path that names a directory or another
// non-regular file, before any work is done.
func checkOutput(path string) error {
	if _, base := filepath.Split(path); base == "" {
		return usagef("output %q is a directory (want a file name)", path)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return usagef("output %q is a directory (want a file name)", path)
		}
		return usagef("output %q is not a regular file", path)
	}
	return nil
}
