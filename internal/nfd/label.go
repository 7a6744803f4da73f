package nfd

import (
	"errors"
	"fmt"
	"strings"
)

// Limits from Kubernetes' label syntax (k8s.io/apimachinery validation).
const (
	MaxNameLen   = 63  // name part of a key, and a value
	MaxPrefixLen = 253 // DNS subdomain prefix of a key
)

// ErrBadLabel is wrapped by every label validation error.
var ErrBadLabel = errors.New("invalid node label")

// Label is one line of a feature file.
type Label struct {
	Key   string // "<namespace>/<name>"
	Value string // "" is written as a bare key, which NFD reads as "true"
}

func (l Label) String() string {
	if l.Value == "" {
		return l.Key
	}
	return l.Key + "=" + l.Value
}

// ValidateKey checks a label key: a DNS-subdomain namespace, '/', and a
// name of at most 63 characters [A-Za-z0-9._-] that starts and ends
// alphanumeric. The namespace is required (without one NFD adds its own
// feature.node.kubernetes.io/), and kubernetes.io and k8s.io namespaces are
// refused because nfd-master does not let local features use them.
func ValidateKey(key string) error {
	prefix, name, ok := strings.Cut(key, "/")
	if !ok {
		return fmt.Errorf("%w: key %q has no namespace (want e.g. hwcap.dev/%s)", ErrBadLabel, key, key)
	}
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("%w: key %q: %w", ErrBadLabel, key, err)
	}
	if err := validateName(name); err != nil {
		return fmt.Errorf("%w: key %q: %w", ErrBadLabel, key, err)
	}
	return nil
}

// ValidateValue checks a label value: empty, or like a key's name part.
func ValidateValue(v string) error {
	if v == "" {
		return nil
	}
	if err := validateName(v); err != nil {
		return fmt.Errorf("%w: value %q: %w", ErrBadLabel, v, err)
	}
	return nil
}

// ValidatePrefix checks a namespace for use in keys.
func ValidatePrefix(p string) error {
	if err := validatePrefix(p); err != nil {
		return fmt.Errorf("%w: namespace %q: %w", ErrBadLabel, p, err)
	}
	return nil
}

func validatePrefix(p string) error {
	if p == "" || len(p) > MaxPrefixLen {
		return fmt.Errorf("namespace must be 1-%d characters", MaxPrefixLen)
	}
	for _, part := range strings.Split(p, ".") {
		if part == "" || !isLowerAlnum(part[0]) || !isLowerAlnum(part[len(part)-1]) {
			return errors.New("namespace must be a DNS subdomain: dot-separated parts of [a-z0-9-] that start and end with [a-z0-9]")
		}
		for i := 0; i < len(part); i++ {
			if c := part[i]; !isLowerAlnum(c) && c != '-' {
				return fmt.Errorf("namespace has character %q (want a DNS subdomain such as hwcap.dev)", rune(c))
			}
		}
	}
	for _, deny := range []string{"kubernetes.io", "k8s.io"} {
		if p == deny || strings.HasSuffix(p, "."+deny) {
			allowed := p == "feature.node.kubernetes.io" || strings.HasSuffix(p, ".feature.node.kubernetes.io") ||
				p == "profile.node.kubernetes.io" || strings.HasSuffix(p, ".profile.node.kubernetes.io")
			if !allowed {
				return fmt.Errorf("namespace %s is reserved: nfd-master refuses it (use your own domain, e.g. hwcap.dev)", deny)
			}
		}
	}
	return nil
}

func validateName(n string) error {
	if n == "" || len(n) > MaxNameLen {
		return fmt.Errorf("%q must be 1-%d characters", n, MaxNameLen)
	}
	if !isAlnum(n[0]) || !isAlnum(n[len(n)-1]) {
		return fmt.Errorf("%q must start and end with a letter or digit", n)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("%q has character %q (want letters, digits, '-', '_', '.')", n, rune(c))
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }
