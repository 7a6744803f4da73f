package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Annotation keys under hwcap.AnnotationPrefix. Each is a valid
// Kubernetes annotation key.
const (
	KeyProfile   = hwcap.AnnotationPrefix + "profile"   // name of a profile in the node's profileDir
	KeyAllow     = hwcap.AnnotationPrefix + "allow"     // comma-separated features to keep
	KeyDeny      = hwcap.AnnotationPrefix + "deny"      // comma-separated features to hide
	KeyMask      = hwcap.AnnotationPrefix + "mask"      // raw AND words: hwcap=0x..,hwcap2=0x..
	KeyPolicy    = hwcap.AnnotationPrefix + "policy"    // enforce | warn
	KeyEffective = hwcap.AnnotationPrefix + "effective" // written by the precreate stage
)

// MaskKeys are the keys that say what to keep; exactly one may be given.
var MaskKeys = []string{KeyProfile, KeyAllow, KeyDeny, KeyMask}

// Keys lists every key this version understands.
var Keys = []string{KeyProfile, KeyAllow, KeyDeny, KeyMask, KeyPolicy, KeyEffective}

// MaxValueLen bounds one annotation value (a full arm64 allow list is
// well under 2 KiB).
const MaxValueLen = 8 << 10

// AnnotationError names the annotation key an error is about.
type AnnotationError struct {
	Key string
	Err error
}

func (e *AnnotationError) Error() string { return "annotation " + e.Key + ": " + e.Err.Error() }
func (e *AnnotationError) Unwrap() error { return e.Err }
func (e *AnnotationError) Is(target error) bool {
	return target == ErrAnnotation
}

func annErr(key string, format string, args ...any) error {
	return &AnnotationError{Key: key, Err: fmt.Errorf(format, args...)}
}

// Request is a validated mask request for one container.
type Request struct {
	Spec    hwcap.Spec
	Policy  hwcap.Policy
	Profile string   // profile name when the mask came from hwcap.dev/profile
	Keys    []string // annotation keys used, sorted
	// Key is the mask key that set Spec (one of MaskKeys); for messages.
	Key string
	// Effective is hwcap.dev/effective when present (precreate's record).
	Effective *hwcap.Words
	// Table is the feature table the request was validated against.
	Table *hwcap.Table
}

// HasAnnotations reports whether any key uses the hwcap.dev/ prefix (in any
// letter case, so that a mis-cased key is reported, not ignored). It never
// touches the file system.
func HasAnnotations(annotations map[string]string) bool {
	for k := range annotations {
		if hwcap.IsAnnotationKey(k) {
			return true
		}
	}
	return false
}

// Request validates the container's hwcap.dev/* annotations against this
// host's feature table. It returns (nil, nil), without reading any file, when
// there is none.
func (n *Node) Request(annotations map[string]string) (*Request, error) {
	if !HasAnnotations(annotations) {
		return nil, nil
	}
	t, err := hwcap.Host()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAnnotation, err)
	}
	return n.RequestFor(annotations, t)
}

// RequestFor is Request against the feature table t.
func (n *Node) RequestFor(annotations map[string]string, t *hwcap.Table) (*Request, error) {
	if !HasAnnotations(annotations) {
		return nil, nil
	}
	r := &Request{Table: t}
	vals := map[string]string{}
	for k, v := range annotations {
		if !hwcap.IsAnnotationKey(k) {
			continue
		}
		if !known(k) {
			return nil, annErr(k, "unknown key%s (known keys: %s)", suggestKey(k), strings.Join(Keys, ", "))
		}
		if len(v) > MaxValueLen {
			return nil, annErr(k, "value longer than %d bytes", MaxValueLen)
		}
		if strings.TrimSpace(v) == "" {
			return nil, annErr(k, "empty value (remove the annotation or give a value)")
		}
		vals[k] = v
		r.Keys = append(r.Keys, k)
	}
	sort.Strings(r.Keys)

	var used []string
	for _, k := range MaskKeys {
		if _, ok := vals[k]; ok {
			used = append(used, k)
		}
	}
	switch len(used) {
	case 0:
		k := r.Keys[0]
		return nil, annErr(k, "given without a mask (add one of %s)", strings.Join(MaskKeys, ", "))
	case 1:
	default:
		return nil, annErr(used[1], "conflicts with %s (give exactly one of %s)", used[0], strings.Join(MaskKeys, ", "))
	}
	r.Key = used[0]
	v := strings.TrimSpace(vals[r.Key])
	switch r.Key {
	case KeyAllow, KeyDeny:
		names, err := hwcap.ParseList(v)
		if err != nil {
			return nil, annErr(r.Key, "%w", err)
		}
		if _, err := t.Bits(names); err != nil {
			return nil, annErr(r.Key, "%w", err)
		}
		if r.Key == KeyAllow {
			r.Spec.Allow = names
		} else {
			r.Spec.Deny = names
		}
	case KeyMask:
		w, _, err := hwcap.ParseRaw(v)
		if err != nil {
			return nil, annErr(r.Key, "%w", err)
		}
		r.Spec.Raw = &w
	case KeyProfile:
		if err := CheckProfileName(v); err != nil {
			return nil, annErr(r.Key, "%w", err)
		}
		p, err := n.LoadProfile(v)
		if err != nil {
			return nil, annErr(r.Key, "%w", err)
		}
		if _, err := p.Keep(t); err != nil {
			return nil, annErr(r.Key, "profile %q: %w", v, err)
		}
		r.Spec.Profile = p
		r.Profile = v
	}

	r.Policy = n.DefaultPolicy
	if pv, ok := vals[KeyPolicy]; ok {
		pol, err := hwcap.ParsePolicy(strings.TrimSpace(pv))
		if err != nil {
			return nil, annErr(KeyPolicy, "%w", err)
		}
		if pol == hwcap.Warn && n.DefaultPolicy == hwcap.Enforce && !n.AllowRelax {
			return nil, annErr(KeyPolicy, "%q would relax this node's %q policy, which the node does not allow (remove the annotation, or set \"allowAnnotationRelax\": true in %s)", pv, n.DefaultPolicy, n.source())
		}
		r.Policy = pol
	}

	if ev, ok := vals[KeyEffective]; ok {
		w, _, err := hwcap.ParseRaw(strings.TrimSpace(ev))
		if err != nil {
			return nil, annErr(KeyEffective, "%w (this key is written by hwcap-hook precreate; do not set it)", err)
		}
		r.Effective = &w
	}
	return r, nil
}

// Keep returns the AND mask the request stands for on its table.
func (r *Request) Keep() (hwcap.Words, error) {
	keep, err := r.Spec.Keep(r.Table)
	if err != nil {
		return hwcap.Words{}, annErr(r.Key, "%w", err)
	}
	return keep, nil
}

func (n *Node) source() string {
	if n.Source == "" {
		return DefaultPath
	}
	return n.Source
}

func known(k string) bool {
	for _, x := range Keys {
		if k == x {
			return true
		}
	}
	return false
}

// suggestKey returns " (did you mean X?)" for a near miss, else "".
func suggestKey(k string) string {
	lk := strings.ToLower(k)
	best, bestD := "", 4
	for _, x := range Keys {
		if d := hwcap.EditDistance(lk, x); d < bestD {
			best, bestD = x, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// IsAnnotationError reports whether err is about a tenant's annotation (as
// opposed to the node's configuration or the host).
func IsAnnotationError(err error) bool { return errors.Is(err, ErrAnnotation) }
