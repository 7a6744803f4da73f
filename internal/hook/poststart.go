package hook

import (
	"fmt"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/spec"
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
	// only when it runs, and runc 1.1 runs poststart before the container's
	// init execs the entrypoint: the pid is still the runtime's init. The
	// shim is then the enforcement point (it refuses to exec unmasked under
	// enforce), as the guard already found.
	if len(left) > 0 && r.shimEntrypoint(st.Bundle, m) {
		r.rec.Reason = fmt.Sprintf("pid %d does not show the mask yet; its entrypoint hwcap-shim applies it when it runs", st.Pid)
		return r.finish(ExitOK, DecisionShim, nil)
	}
	if len(left) == 0 {
		return r.finish(ExitOK, DecisionConfirmed, nil)
	}
	// On the eBPF backend /proc/PID/auxv keeps the kernel's words; the
	// mask is in the backend's maps, applied at the process's next exec.
	if r.bpfConfirms(st.Pid, m) {
		return r.finish(ExitOK, DecisionConfirmed, nil)
	}
	r.rec.Reason = fmt.Sprintf("%s did not take effect: the container process (pid %d) still sees %s", m.describe(), st.Pid, strings.Join(left, " "))
	if m.req.Policy == hwcap.Warn {
		return r.finish(ExitOK, hwcap.DecisionWarned, nil)
	}
	return r.finish(ExitRefused, hwcap.DecisionRefused, fmt.Errorf("%s (the runtime stops the container)", r.rec.Reason))
}

// shimEntrypoint reports whether the container's process.args start with
// hwcap-shim asking for at least mask m (what the guard accepts).
func (r *run) shimEntrypoint(bundle string, m *mask) bool {
	cfg, err := spec.LoadConfig(bundle)
	if err != nil {
		return false
	}
	args := cfg.Args()
	if len(args) == 0 || !isShim(args[0], r.node.ShimPath) || shimMounted(args[0], r.node.ShimPath, cfg.Mounts) != nil {
		return false
	}
	call, err := parseShimCall(args[1:], cfg)
	return err == nil && call.covers(m) == nil
}
