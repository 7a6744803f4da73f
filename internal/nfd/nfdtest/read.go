// Package nfdtest reads a features.d file the way node-feature-discovery
// does, for tests of the writer and of hwcapctl nfd.
package nfdtest

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Read applies node-feature-discovery's rules for a features.d file
// (source/local in nfd-worker, label checks in nfd-master), written out
// here independently of the writer: files over 64 KiB and dot files are
// skipped; lines are trimmed; empty lines and '#' comments skipped; "# +"
// starts a directive (expiry-time=RFC3339, no-label, no-feature; anything
// else is an error); "key" means key=true, else split at the first '='.
// nfd-master then requires a qualified label name with a namespace outside
// kubernetes.io/k8s.io (except feature.node/profile.node.kubernetes.io)
// and a valid label value. Kubernetes' own validation functions decide
// the syntax.
func Read(name string, data []byte, now time.Time) (map[string]string, error) {
	if strings.HasPrefix(name, ".") {
		return nil, nil
	}
	if len(data) > 65536 {
		return nil, fmt.Errorf("file size limit exceeded: %d", len(data))
	}
	labels := map[string]string{}
	expiry := time.Time{}
	for i, l := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(l))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			d, ok := strings.CutPrefix(line, "# +")
			if !ok {
				continue
			}
			k, v, _ := strings.Cut(d, "=")
			switch k {
			case "expiry-time":
				ts, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", i+1, err)
				}
				expiry = ts
			case "no-label", "no-feature":
			default:
				return nil, fmt.Errorf("line %d: unknown directive %q", i+1, k)
			}
			continue
		}
		if !expiry.IsZero() && expiry.Before(now) {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			value = "true"
		}
		if errs := validation.IsQualifiedName(key); len(errs) > 0 {
			return nil, fmt.Errorf("line %d: key %q: %v", i+1, key, errs)
		}
		ns, _, found := strings.Cut(key, "/")
		if !found {
			return nil, fmt.Errorf("line %d: key %q has no namespace: nfd-worker would put it in feature.node.kubernetes.io", i+1, key)
		}
		if (ns == "kubernetes.io" || strings.HasSuffix(ns, ".kubernetes.io") || ns == "k8s.io" || strings.HasSuffix(ns, ".k8s.io")) &&
			!strings.HasSuffix("."+ns, ".feature.node.kubernetes.io") && !strings.HasSuffix("."+ns, ".profile.node.kubernetes.io") {
			return nil, fmt.Errorf("line %d: namespace %q denied by nfd-master", i+1, ns)
		}
		if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
			return nil, fmt.Errorf("line %d: value %q: %v", i+1, value, errs)
		}
		if _, dup := labels[key]; dup {
			return nil, fmt.Errorf("line %d: key %q repeated", i+1, key)
		}
		labels[key] = value
	}
	return labels, nil
}
