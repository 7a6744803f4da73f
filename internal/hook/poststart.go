package hook

import (
	"fmt"
	"strings"
	"time"

	"github.com/hwcap/hwcap/internal/enforce"
)

// How long poststart waits for a process that has not masked itself yet,
// and how often it looks again (variables for tests).
var (
	poststartSettle = 2 * time.Second
	poststartPoll   = 10 * time.Millisecond
)

// poststart confirms that the started process shows the mask.
func (r *run) poststart() int {
	st, m, code, done := r.begin()
	if done {
		return code
	}
	if st.Pid <= 0 {
		return r.fail(fmt.Errorf("%w: the state has no pid", errCheck))
	}
	v, err := r.h.ReadPID(st.Pid)
	if err == nil && !hasHWCAP(v) {
		err = errNoHWCAP
	}
	if err != nil {
		if gone(err) {
			r.rec.Reason = fmt.Sprintf("pid %d exited before it could be checked", st.Pid)
			return r.finish(ExitOK, DecisionExited, nil)
		}
		return r.fail(fmt.Errorf("%w: %w", errCheck, err))
	}
	left := m.leaks(v.HWCAPs())
	// An entrypoint wrapped with hwcap-shim (podman precreate) masks itself
	// only once it runs, and poststart may come first: give the process a
	// short while to do so before calling the mask missing.
	for deadline := time.Now().Add(poststartSettle); len(left) > 0 && time.Now().Before(deadline); {
		time.Sleep(poststartPoll)
		if v, err = r.h.ReadPID(st.Pid); err != nil || !hasHWCAP(v) {
			break
		}
		left = m.leaks(v.HWCAPs())
	}
	if len(left) == 0 {
		return r.finish(ExitOK, DecisionConfirmed, nil)
	}
	r.rec.Reason = fmt.Sprintf("%s did not take effect: the container process (pid %d) still sees %s", m.describe(), st.Pid, strings.Join(left, " "))
	if m.req.Policy == enforce.Warn {
		return r.finish(ExitOK, DecisionWarned, nil)
	}
	return r.finish(ExitRefused, DecisionRefused, fmt.Errorf("%s (the runtime stops the container)", r.rec.Reason))
}
