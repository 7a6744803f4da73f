package enforce

import (
	"errors"
	"fmt"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

// Sentinel errors.
var (
	ErrNotInherited = errors.New("kernel does not pass HWCAP masks to child processes")
)

// Outcome records what MaskSelf did, for logs and error messages.
type Outcome struct {
	Keep      hwcap.Words    `json:"keep"`
	Before    hwcap.Words    `json:"before"`
	After     hwcap.Words    `json:"after"`
	Paths     []auxv.Path    `json:"paths"`
	Probe     *probe.Result  `json:"probe,omitempty"`
	Inherited bool           `json:"inherited"`
	Policy    hwcap.Policy   `json:"policy"`
	Decision  hwcap.Decision `json:"decision"`
	Reason    string         `json:"reason,omitempty"`
}

// MaskSelf masks the calling process's saved auxiliary vector with keep
// (every path available to it), consults the per-boot probe cache in
// runDir, and decides by policy. Under hwcap.Enforce, a kernel that will not
// pass the mask on yields an error wrapping ErrNotInherited with a one-line
// reason; any failure to apply the mask at all is an error only if pol is
// hwcap.Enforce (under hwcap.Warn it is recorded in the Outcome).
func MaskSelf(keep hwcap.Words, pol hwcap.Policy, runDir string) (*Outcome, error) {
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
		out.Decision = hwcap.DecisionMasked
		return out, nil
	}
	reason := fmt.Sprintf("kernel %s does not pass HWCAP masks to child processes (probe: %s); it needs the \"exec: inherit HWCAPs from the parent process\" series", pr.Kernel, pr.Summary())
	return out.fail(reason, ErrNotInherited)
}

func (o *Outcome) fail(reason string, cause error) (*Outcome, error) {
	o.Reason = reason
	if o.Policy == hwcap.Warn {
		o.Decision = hwcap.DecisionWarned
		return o, nil
	}
	o.Decision = hwcap.DecisionRefused
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
