package hwcap

import (
	"fmt"
	"strings"
)

// AnnotationPrefix is the namespace of the container annotations that ask
// for a mask (hwcap.dev/deny, ...): every key under it is reserved.
const AnnotationPrefix = "hwcap.dev/"

// IsAnnotationKey reports whether k is under AnnotationPrefix in any letter
// case, so that a mis-cased key is reported, never ignored.
func IsAnnotationKey(k string) bool {
	return len(k) >= len(AnnotationPrefix) && strings.EqualFold(k[:len(AnnotationPrefix)], AnnotationPrefix)
}

// Policy says what to do when a mask cannot take effect.
type Policy string

const (
	// Enforce refuses to start the workload unmasked.
	Enforce Policy = "enforce"
	// Warn logs and starts the workload unmasked.
	Warn Policy = "warn"
)

// ParsePolicy accepts "enforce" or "warn".
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case Enforce, Warn:
		return p, nil
	}
	return "", fmt.Errorf("%w %q (want enforce or warn)", ErrBadPolicy, s)
}

// Stricter reports whether p is stricter than q.
func (p Policy) Stricter(q Policy) bool { return p == Enforce && q == Warn }

// Decision is what a component decided for one container: the "decision"
// field of the node log. The hook and the wrapper add their own.
type Decision string

// Decisions every component may take.
const (
	DecisionMasked  Decision = "masked"  // the mask is in place and the kernel passes it on
	DecisionWarned  Decision = "warned"  // it would not take effect; policy warn: go on unmasked
	DecisionRefused Decision = "refused" // it would not take effect; policy enforce: stop
	DecisionFailed  Decision = "failed"  // could not decide (unreadable input, no runtime, ...)
)
