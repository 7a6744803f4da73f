package hook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/spec"
)

// guard is createRuntime/prestart: the runtime has created the container
// and its init waits (state.pid, a host pid) for `start`.
func (r *run) guard() int {
	st, m, code, done := r.begin()
	if done {
		return code
	}
	// 1. The waiting init already carries the mask: a wrapper runtime
	//    masked the runtime, and the kernel passed the mask on.
	if st.Pid > 0 {
		v, err := r.h.ReadPID(st.Pid)
		if err == nil && hasHWCAP(v) && len(m.leaks(v.HWCAPs())) == 0 {
			if err := r.ownInit(st.Pid); err != nil {
				return r.refuse(m, err.Error())
			}
			r.field(enforce.FieldBackend, string(enforce.BackendSeries))
			return r.finish(ExitOK, hwcap.DecisionMasked, nil)
		}
	}
	// The container starts through hwcap-shim, which masks itself and
	// execs the entrypoint: that works only if the kernel passes the mask
	// on across exec.
	cfg, err := spec.LoadConfig(st.Bundle)
	if err != nil {
		return r.fail(fmt.Errorf("%w: %w", errCheck, err))
	}
	pr, err := r.h.Probe(r.node.RunDir)
	if err != nil {
		return r.fail(fmt.Errorf("%w: %w", errCheck, err))
	}
	inherits := pr.Inherits(auxv.Paths...)
	// 2. The eBPF backend: the hook masks the container itself.
	if !inherits {
		if code, done := r.bpfGuard(st, m, pr); done {
			return code
		}
	}
	// 3. (on the series backend)
	args := cfg.Args()
	if len(args) > 0 && isShim(args[0], r.node.ShimPath) {
		err := shimMounted(args[0], r.node.ShimPath, cfg.Mounts)
		var call *shimCall
		if err == nil {
			call, err = parseShimCall(args[1:], cfg)
		}
		if err == nil {
			err = call.covers(m)
		}
		switch {
		case err != nil:
			return r.refuse(m, err.Error()+" (fix the container's entrypoint, or drop it and let precreate add the shim)")
		case inherits:
			r.field(enforce.FieldBackend, string(enforce.BackendSeries))
			return r.finish(ExitOK, DecisionShim, nil)
		}
		return r.refuse(m, fmt.Sprintf("kernel %s does not pass HWCAP masks to children (probe: %s), so hwcap-shim cannot mask the container's processes (%s)",
			pr.Kernel, pr.Summary(), r.fixHint(false)))
	}
	if inherits {
		return r.refuse(m, fmt.Sprintf("the container's init (pid %d) does not carry the mask and the container is not started through hwcap-runtime or hwcap-shim (%s)",
			st.Pid, r.fixHint(true)))
	}
	return r.refuse(m, fmt.Sprintf("kernel %s does not pass HWCAP masks to children (probe: %s) and the container is not started through hwcap-runtime or hwcap-shim (%s)",
		pr.Kernel, pr.Summary(), r.fixHint(false)))
}

// ownInit checks that pid, which carries the mask, is the init of the
// container being created rather than some other masked process (another
// container's init, a stale or reused pid): runc and crun fork the init
// (runc through CLONE_PARENT) and run the createRuntime/prestart hooks as
// children of the same runtime process, so the init's parent is the hook's
// parent. /proc/PID/root cannot serve: at these stages the init has not
// pivoted into the rootfs yet.
func (r *run) ownInit(pid int) error {
	if r.h.Parent == nil {
		return nil
	}
	ppid, err := r.h.Parent(pid)
	if err != nil {
		return fmt.Errorf("cannot tell whose process the state's pid %d is: %w", pid, err)
	}
	if want := os.Getppid(); ppid != want {
		return fmt.Errorf("the state's pid %d carries the mask but is not a child of the runtime running this hook (its parent is pid %d, the hook's is pid %d), so it is not this container's init", pid, ppid, want)
	}
	return nil
}

// procParent reads the parent pid from /proc/PID/stat (field 4, after the
// command name, which may itself contain spaces and parentheses).
func procParent(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	return strconv.Atoi(f[1])
}

// fixHint names the settings that fix a refusal.
func (r *run) fixHint(kernelOK bool) string {
	hint := "run it with --runtime hwcap-runtime"
	if !kernelOK {
		hint = "install the eBPF backend where the kernel allows it (hwcapctl bpf install), or run it on a kernel with the HWCAP inheritance series, with --runtime hwcap-runtime"
	}
	if r.node.DefaultPolicy == hwcap.Warn || r.node.AllowRelax {
		return hint + ", or set " + config.KeyPolicy + "=warn"
	}
	return hint + ", or ask the node administrator for defaultPolicy warn"
}

// refuse ends a run whose mask would not take effect: exit 1 under
// enforce, a logged warning under warn.
func (r *run) refuse(m *mask, why string) int {
	r.rec.Reason = m.describe() + " cannot take effect: " + why
	if _, ok := r.rec.Fields[enforce.FieldBackend]; !ok {
		r.field(enforce.FieldBackend, string(enforce.BackendNone))
	}
	if m.req.Policy == hwcap.Warn {
		return r.finish(ExitOK, hwcap.DecisionWarned, nil)
	}
	return r.finish(ExitRefused, hwcap.DecisionRefused, errors.New(r.rec.Reason))
}

// fail ends a run on an error: invalid input (exit 2) or a failure to
// check (exit 3; under warn, logged and exit 0).
func (r *run) fail(err error) int {
	if errors.Is(err, errCheck) {
		if r.rec.Policy == string(hwcap.Warn) {
			r.rec.Reason = err.Error()
			return r.finish(ExitOK, hwcap.DecisionWarned, nil)
		}
		return r.finish(ExitFailed, hwcap.DecisionFailed, err)
	}
	return r.invalid(err)
}

func hasHWCAP(v auxv.Vector) bool { return v.Present()[0] }

// gone reports whether err means the process no longer exists.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNoHWCAP) || errors.Is(err, auxv.ErrEmpty)
}

var errNoHWCAP = errors.New("no AT_HWCAP entry (the process is exiting)")
