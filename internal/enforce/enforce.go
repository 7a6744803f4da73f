package enforce

import (
	"errors"
	"fmt"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

// Policy says what to do when a mask cannot take effect.
type Policy string

const (
	// Enforce refuses to start the workload unmasked.
	Enforce Policy = "enforce"
	// Warn logs and starts the workload unmasked.
	Warn Policy = "warn"
)

// Sentinel errors.
var (
	ErrBadPolicy    = errors.New("unknown policy")
	ErrNotInherited = errors.New("kernel does not pass HWCAP masks to child processes")
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

// Decisions recorded in an Outcome.
const (
	DecisionMasked  = "masked"  // applied, and the kernel passes it on
	DecisionWarned  = "warned"  // not passed on; policy warn: go on
	DecisionRefused = "refused" // not passed on; policy enforce: stop
)

// Outcome records what Self did, for logs and error messages.
type Outcome struct {
	Keep      hwcap.Words   `json:"keep"`
	Before    hwcap.Words   `json:"before"`
	After     hwcap.Words   `json:"after"`
	Paths     []auxv.Path   `json:"paths"`
	Probe     *probe.Result `json:"probe,omitempty"`
	Inherited bool          `json:"inherited"`
	Policy    Policy        `json:"policy"`
	Decision  string        `json:"decision"`
	Reason    string        `json:"reason,omitempty"`
}

// Self masks the calling process's saved auxiliary vector with keep (every
// path available to it), consults the per-boot probe cache in runDir, and
// decides by policy. Under Enforce, a kernel that will not pass the mask on
// yields an error wrapping ErrNotInherited with a one-line reason; any
// failure to apply the mask at all is an error under either policy only if
// pol is Enforce (under Warn it is recorded in the Outcome).
func Self(keep hwcap.Words, pol Policy, runDir string) (*Outcome, error) {
	out := &Outcome{Keep: keep, Policy: pol}
	res, err := auxv.Apply(keep, auxv.AvailablePaths()...)
	if res != nil {
		out.Before, out.After, out.Paths = res.Before, res.After, res.OK
	}
	if err != nil {
		return out.fail(fmt.Sprintf("cannot mask this process: %v", err), err)
	}
	pr, err := probe.Cached(runDir)
	if err != nil {
		return out.fail(err.Error(), err)
	}
	out.Probe = pr
	out.Inherited = pr.Inherits(out.Paths...)
	if out.Inherited {
		out.Decision = DecisionMasked
		return out, nil
	}
	reason := fmt.Sprintf("kernel %s does not pass HWCAP masks to child processes (probe: %s); it needs the \"exec: inherit HWCAPs from the parent process\" series", pr.Kernel, pr.Summary())
	return out.fail(reason, ErrNotInherited)
}

func (o *Outcome) fail(reason string, cause error) (*Outcome, error) {
	o.Reason = reason
	if o.Policy == Warn {
		o.Decision = DecisionWarned
		return o, nil
	}
	o.Decision = DecisionRefused
	if errors.Is(cause, ErrNotInherited) {
		return o, &reasonError{reason: reason, sentinel: ErrNotInherited}
	}
	return o, cause
}

// reasonError carries a full one-line reason and matches its sentinel.
type reasonError struct {
	reason   string
	sentinel error
}

func (e *reasonError) Error() string        { return e.reason }
func (e *reasonError) Is(target error) bool { return target == e.sentinel }
