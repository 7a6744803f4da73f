package hook

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/logging"
	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/version"
)

// Exit codes. Runtimes show only the code in some cases (crun), so each
// code means one thing.
const (
	ExitOK      = 0 // no-op, mask in place, or policy warn
	ExitRefused = 1 // policy enforce and the mask would not (or did not) take effect
	ExitInvalid = 2 // bad usage, annotation, node config, state or config.json
	ExitFailed  = 3 // the hook could not check (e.g. /proc unreadable, probe failed)
)

// Stages.
const (
	StageCreateRuntime = "createRuntime"
	StagePrestart      = "prestart"
	StagePrecreate     = "precreate"
	StagePoststart     = "poststart"
	StagePoststop      = "poststop"
)

// Decisions written to the log besides hwcap's (masked: the init already
// carries the mask; warned, refused; failed: could not check).
const (
	DecisionNothing   hwcap.Decision = "nothing-to-hide" // the host lacks every feature the mask hides
	DecisionShim      hwcap.Decision = "shim"            // started through hwcap-shim on a kernel that passes masks on
	DecisionInvalid   hwcap.Decision = "invalid"         // bad annotation or input
	DecisionWrapped   hwcap.Decision = "wrapped"         // precreate prepended the shim
	DecisionAlready   hwcap.Decision = "already-wrapped" // precreate found the shim in place
	DecisionConfirmed hwcap.Decision = "confirmed"       // poststart saw the mask
	DecisionExited    hwcap.Decision = "exited"          // poststart: the process was gone
)

// ShimMountPath is where precreate bind-mounts the shim in the container.
const ShimMountPath = "/.hwcap-shim"

// ShimRunDir is the shim's --run-dir in a container precreate wrapped: the
// host's probe cache is bind-mounted read-only into it, so the shim need
// not probe the kernel again in every container (its /run is the
// container's own, empty). Only that file: the host's run directory also
// holds other containers' records.
const ShimRunDir = "/.hwcap-run"

// Hook holds the inputs of one run; tests replace the functions.
type Hook struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// LoadConfig returns the node configuration (config.Load).
	LoadConfig func() (*config.Node, error)
	// OwnAuxv returns the hook's own auxv (the host's words).
	OwnAuxv func() (auxv.Vector, error)
	// ReadPID returns /proc/PID/auxv.
	ReadPID func(pid int) (auxv.Vector, error)
	// Init returns the auxv of PID 1 of the hook's pid namespace (nil: not
	// read). Under hwcap-runtime the hook is a descendant of the masked
	// runtime, and on a kernel with the series its own words are the
	// masked ones; the host's words are its own together with init's.
	Init func() (auxv.Vector, error)
	// Probe returns the kernel support probe (probe.Cached).
	Probe func(runDir string) (*probe.Result, error)
	// Table is the host's feature table (hwcap.Host).
	Table func() (*hwcap.Table, error)
	// Parent returns the parent pid of pid (/proc/PID/stat). The guard
	// trusts a masked state.pid only if it is a child of the runtime that
	// runs the hook; nil skips that check (unit tests only).
	Parent func(pid int) (int, error)
	// BPF opens the eBPF backend installed on the node (bpf.Open of
	// bpf.Dir()); nil: never used (unit tests of the other backends).
	BPF func() (BPFBackend, error)
	// Cgroup returns a process's cgroup v2 (bpf.CgroupOf).
	Cgroup func(pid int) (*bpf.Cgroup, error)
}

// Default returns a Hook wired to the real system.
func Default() *Hook {
	return &Hook{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		LoadConfig: config.Load,
		OwnAuxv:    auxv.ReadSelf,
		ReadPID:    auxv.ReadPID,
		Init:       func() (auxv.Vector, error) { return auxv.ReadPID(1) },
		Probe:      probe.Cached,
		Table:      hwcap.Host,
		Parent:     procParent,
		BPF:        openBPF,
		Cgroup:     bpf.CgroupOf,
	}
}

const usage = `usage: hwcap-hook STAGE   (state JSON on stdin; config.json for precreate)
Stages: createRuntime, prestart (guard; on the eBPF backend: mask the container),
precreate (podman: wrap with hwcap-shim), poststart (confirm), poststop (eBPF backend: clean up).
Node configuration: $HWCAP_CONFIG, else /etc/hwcap/config.json.
Exit codes: 0 ok/no-op/warned, 1 refused under policy enforce, 2 invalid input, 3 could not check.
`

// Main runs one stage and returns the exit code.
func Main(args []string) int { return Default().Run(args) }

// Run runs one stage and returns the exit code.
func (h *Hook) Run(args []string) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintln(h.Stderr, "hwcap-hook", version.Version)
		return ExitOK
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(h.Stderr, usage)
		return ExitOK
	}
	if len(args) != 1 {
		fmt.Fprintf(h.Stderr, "hwcap-hook: want exactly one argument, the stage (got %d)\n%s", len(args), usage)
		return ExitInvalid
	}
	r := &run{h: h, stage: args[0], start: time.Now()}
	switch args[0] {
	case StageCreateRuntime, StagePrestart:
		return r.guard()
	case StagePrecreate:
		return r.precreate()
	case StagePoststart:
		return r.poststart()
	case StagePoststop:
		return r.poststop()
	}
	h.printf("unknown stage %q (want createRuntime, prestart, precreate, poststart or poststop)", args[0])
	return ExitInvalid
}

// run is the state of one hook run.
type run struct {
	h     *Hook
	stage string
	start time.Time
	node  *config.Node
	log   *logging.Logger
	rec   logging.Record
}

// setup loads the node configuration and opens the log. Called only once
// an hwcap.dev/* annotation was seen.
func (r *run) setup(container string) error {
	r.rec.Container = container
	r.rec.Stage = r.stage
	n, err := r.h.LoadConfig()
	if err != nil {
		return err
	}
	r.node = n
	l, err := logging.Open(n.LogFile, "hwcap-hook")
	if err != nil {
		// Not fatal: the decision matters more than the record of it.
		r.h.printf("warning: %v", err)
		l, _ = logging.Open("", "hwcap-hook")
	}
	r.log = l
	return nil
}

// finish logs the record, prints msg (if any) to stderr as one line and
// returns code.
func (r *run) finish(code int, decision hwcap.Decision, err error) int {
	r.rec.Decision = decision
	r.rec.Duration = time.Since(r.start)
	r.rec.Err = err
	if err != nil && err.Error() == r.rec.Reason {
		r.rec.Reason = "" // logged once, as the error
	}
	if r.log != nil {
		if lerr := r.log.Log(r.rec); lerr != nil {
			r.h.printf("warning: %v", lerr)
		}
		r.log.Close()
	}
	switch {
	case err != nil:
		r.h.printf("%s%v", r.prefix(), err)
	case decision == hwcap.DecisionWarned:
		r.h.printf("warning: %s%s (policy warn: starting it anyway)", r.prefix(), r.rec.Reason)
	}
	return code
}

func (r *run) prefix() string {
	if r.rec.Container == "" {
		return ""
	}
	return "container " + r.rec.Container + ": "
}

// printf writes one line to stderr, prefixed "hwcap-hook: ". Every line
// the hook prints goes through here: its text quotes tenant input
// (annotation keys and values, container ids, config.json's bytes in a
// decoder's error), so it passes through logging.OneLine, which escapes
// control characters and joins lines.
func (h *Hook) printf(format string, args ...any) {
	fmt.Fprintln(h.Stderr, "hwcap-hook: "+logging.OneLine(fmt.Sprintf(format, args...)))
}

// invalid classifies an input error.
func (r *run) invalid(err error) int { return r.finish(ExitInvalid, DecisionInvalid, err) }

// errCheck marks failures to check, as opposed to invalid input.
var errCheck = errors.New("cannot check the mask")
