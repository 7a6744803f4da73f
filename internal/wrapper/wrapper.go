package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/logging"
	"github.com/hwcap/hwcap/internal/spec"
)

// Exit codes of the wrapper itself (the real runtime's own codes pass
// through, since the wrapper becomes the real runtime).
const (
	ExitRefused  = 1   // bad annotation, bad config, or policy enforce refused
	ExitNotExec  = 126 // the real runtime was found but could not be executed
	ExitNotFound = 127 // no real runtime found
)

// stateTimeout bounds the "<runtime> state ID" call of an exec without
// record (a variable for tests).
var stateTimeout = 10 * time.Second

// maxStateOutput bounds what the runtime's state may print (stdout and
// stderr each).
const maxStateOutput = 1 << 20

// Wrapper is one invocation. Fields are the process's inputs, so that tests
// can drive it without a real execve.
type Wrapper struct {
	Args    []string // full argv, argv[0] included
	Environ []string
	Getenv  func(string) string
	Getwd   func() (string, error)
	Stderr  io.Writer
	Now     func() time.Time
	// Exec replaces the process with the real runtime; it returns only on
	// failure.
	Exec func(path string, argv, env []string) error
	// Spawn runs the real runtime as a child with this process's standard
	// streams and inherited descriptors, and returns its exit code: a
	// detached restore on the eBPF backend, which must act after it.
	Spawn func(path string, argv, env []string) (int, error)
	// BPF opens the installed eBPF backend; Cgroup returns a process's
	// cgroup v2 (bpf.CgroupOf).
	BPF    func() (RestoreBackend, error)
	Cgroup func(pid int) (*bpf.Cgroup, error)
	// FrontDir is where the front file for the C front end goes ("" =
	// none).
	FrontDir string

	masked  *enforce.Outcome // what apply did, when the container asked for a mask
	rec     *Record          // the container apply masked
	inv     *Invocation
	own     ownFlags
	node    *config.Node
	runtime string
	start   time.Time
}

// Main runs the wrapper for this process and returns an exit code if it
// did not exec the real runtime.
func Main() int {
	w := &Wrapper{
		Args:     os.Args,
		Environ:  os.Environ(),
		Getenv:   os.Getenv,
		Getwd:    os.Getwd,
		Stderr:   os.Stderr,
		Now:      time.Now,
		Exec:     execve,
		Spawn:    spawn,
		BPF:      openBackend,
		Cgroup:   bpf.CgroupOf,
		FrontDir: FrontDir,
	}
	return w.Run()
}

// Run decides, masks, records, and execs the real runtime. It returns
// only if it did not exec it, with the exit code of what stopped it.
func (w *Wrapper) Run() int {
	w.start = w.Now()
	return w.exit(w.run())
}

// run is Run up to the exec; every way it returns is an error, except a
// detached restore on the eBPF backend that ran the runtime as a child and
// re-applied the mask (nil).
func (w *Wrapper) run() error {
	var args []string
	if len(w.Args) > 1 {
		args = w.Args[1:]
	}
	own, rest, ownErr := splitOwn(args)
	w.inv, w.own = Parse(rest), own
	inv := w.inv
	if ownErr != nil {
		return ownErr
	}

	// Pass-through with $HWCAP_RUNTIME set: no file is opened at all.
	// Otherwise the node configuration names the runtime (the same one
	// create used, so that state, delete and kill find the container).
	env := w.Getenv(EnvRuntime)
	cfgWatch := ""
	if env == "" || inv.NeedsMask() || (inv.Command == CmdDelete && !inv.Help) {
		var err error
		if cfgWatch, err = w.loadNode(); err != nil {
			return err
		}
	}
	names := []string{env}
	if env == "" {
		names = w.node.Runtimes
	}
	rt, watch, err := lookup(names, w.Getenv("PATH"), ownExecutable())
	if err != nil {
		return err
	}
	w.runtime = rt
	// The front file lets the C front end pass the next calls through
	// without a Go start (internal/front).
	w.writeFront(cfgWatch, watch)

	if err := w.act(); err != nil {
		return err
	}
	if w.reapplyAfterRestore() {
		return w.restoreBPF(w.rec)
	}
	return w.execRuntime()
}

// loadNode loads the node configuration. cfgWatch is the file as a front
// file watches it ("IDENTITY PATH"), or "" when it changed while it was
// read (the next call loads it again) or is an absent file that
// $HWCAP_CONFIG names.
func (w *Wrapper) loadNode() (cfgWatch string, err error) {
	path, explicit := config.PathIn(w.Getenv)
	before, berr := Identity(path)
	n, err := config.LoadPath(path, explicit)
	if err != nil {
		return "", err
	}
	w.node = n
	after, aerr := Identity(path)
	if berr != nil || aerr != nil || before != after || (after == absent && explicit) {
		return "", nil
	}
	return watched(path, after), nil
}

// act is the wrapper's own work for the command, before the exec.
func (w *Wrapper) act() error {
	if w.inv.Help {
		return nil
	}
	switch w.inv.Command {
	case CmdRestore:
		if err := w.restoreCheck(); err != nil {
			return err
		}
		return w.create()
	case CmdCreate, CmdRun:
		return w.create()
	case CmdExec:
		return w.exec()
	case CmdDelete:
		w.delete()
	}
	return nil
}

// store is the records of this call's runtime root.
func (w *Wrapper) store() Store { return StoreFor(w.node.RunDir, w.inv.Root, w.runtime) }

// execRuntime replaces the process: argv[0] becomes the real runtime's
// path and argv[1:] is ours byte for byte, as NVIDIA's runtime does (crun
// looks at argv[0] to decide whether to act as krun, so it must be the
// real binary's name). The environment is passed unchanged.
func (w *Wrapper) execRuntime() error {
	argv := append([]string{w.runtime}, w.inv.Args...)
	return &execError{path: w.runtime, err: w.Exec(w.runtime, argv, w.Environ)}
}

// create handles create, run and restore: mask from the bundle's
// annotations, applied to this process, then a record for later execs.
func (w *Wrapper) create() error {
	inv := w.inv
	id := inv.ID()
	b, ann, err := readBundle(inv)
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	// The runtime gets the directory the config was read from, not a
	// path that a symlink or ".." could make it resolve elsewhere.
	if inv.Bundle != "" && inv.Bundle != b.Dir {
		inv.SetBundle(b.Dir)
	}
	rec, err := w.recordFor(id, b, ann)
	if err != nil {
		return fmt.Errorf("container %s: %w", id, err)
	}
	if rec.Mask != nil {
		if err := w.apply(rec); err != nil {
			return err
		}
	}
	if ValidID(id) {
		s := w.store()
		s.GC(GCBatch)
		if err := s.Put(rec); err != nil {
			w.logf(LevelWarn, "container %s: %v (a later exec will ask %s state instead)", id, err, w.runtime)
		}
	}
	return nil
}

// recordFor is the record of container id whose bundle b has annotations
// ann: the mask they (or --hwcap-profile) ask for, resolved by the node
// configuration; no mask when they ask for none.
func (w *Wrapper) recordFor(id string, b *spec.Bundle, ann map[string]string) (*Record, error) {
	req, err := w.node.Request(w.own.withDefault(ann))
	if err != nil {
		return nil, err
	}
	rec := &Record{Version: RecordVersion, ID: id, Bundle: b.Dir, Config: b.Config, ConfigID: infoIdentity(b.Info)}
	if req == nil {
		return rec, nil
	}
	keep, err := req.Keep()
	if err != nil {
		return nil, err
	}
	rec.Mask = &Mask{Keep: keep, Policy: req.Policy, Profile: req.Profile}
	return rec, nil
}

// exec masks an exec'd process like the container's own: from the record
// create left, else from the bundle the real runtime reports.
func (w *Wrapper) exec() error {
	id := w.inv.ID()
	rec, err := w.store().Get(id)
	if err != nil {
		w.logf(LevelWarn, "container %s: ignoring record: %v", id, err)
		rec = nil
	}
	if rec != nil && !rec.Current() {
		rec = nil
	}
	if rec == nil {
		rec, err = w.recordFromState(id)
		if errors.Is(err, errStateUnknown) {
			// Nothing says whether this container asked for a mask: the
			// node's default policy decides (issue 16).
			if w.node.DefaultPolicy == hwcap.Warn {
				w.logf(LevelWarn, "container %s: %v; policy warn: running the exec without a mask", id, err)
				w.nodeRecord(logging.Record{Container: id, Decision: hwcap.DecisionWarned, Reason: err.Error()})
				return nil
			}
			return fmt.Errorf("container %s: %w; refusing the exec under policy enforce (run it again once the runtime answers, or restore the container's record in the node's runDir)", id, err)
		}
		if err != nil {
			return fmt.Errorf("container %s: %w", id, err)
		}
		if rec == nil { // no such container: the runtime says so itself
			return nil
		}
	}
	if rec.Mask == nil {
		return nil
	}
	return w.apply(rec)
}

// recordFromState asks "<runtime> [--root R] state ID" for the bundle and
// reads its annotations. Only --root is passed on: --log would make a
// failed state write an error into containerd's log.json.
func (w *Wrapper) recordFromState(id string) (*Record, error) {
	if id == "" || strings.HasPrefix(id, "-") {
		return nil, nil
	}
	stdout, stderr, err := w.runRuntime("state", id)
	what := fmt.Sprintf("there is no record of its mask and %s state %s", w.runtime, id)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("%w: %s did not answer within %s", errStateUnknown, what, stateTimeout)
	case err != nil && notExist(err, stderr, id):
		return nil, nil // an unknown container: the real exec reports it
	case err != nil:
		return nil, fmt.Errorf("%w: %s failed: %w: %s", errStateUnknown, what, err, lastLine(stderr))
	}
	var st struct {
		Bundle string `json:"bundle"`
	}
	if err := json.Unmarshal(stdout, &st); err != nil || st.Bundle == "" {
		return nil, fmt.Errorf("%w: %s printed no bundle directory", errStateUnknown, what)
	}
	if !filepath.IsAbs(st.Bundle) {
		return nil, fmt.Errorf("%w: %s printed bundle %q, not an absolute path", errStateUnknown, what, st.Bundle)
	}
	b, ann, err := readBundle(&Invocation{Bundle: st.Bundle, bundleAt: -1})
	if err != nil {
		return nil, err
	}
	return w.recordFor(id, b, ann)
}

// runRuntime runs "<runtime> [--root R] ARGS..." with this process's
// environment under stateTimeout and returns its bounded output; err wraps
// context.DeadlineExceeded at the deadline. Only --root is passed on:
// --log would make a failed state write an error into containerd's
// log.json.
func (w *Wrapper) runRuntime(args ...string) ([]byte, string, error) {
	argv := []string{}
	if w.inv.Root != "" {
		argv = append(argv, "--root", w.inv.Root)
	}
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.runtime, argv...)
	cmd.Env = w.Environ
	var out, errOut bytes.Buffer
	cmd.Stdout = &limitWriter{w: &out, n: maxStateOutput}
	cmd.Stderr = &limitWriter{w: &errOut, n: maxStateOutput}
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return out.Bytes(), errOut.String(), err
}

// state returns "<runtime> state ID"'s output.
func (w *Wrapper) state(id string) ([]byte, error) {
	out, errOut, err := w.runRuntime("state", id)
	if err != nil {
		return nil, fmt.Errorf("%s state %s: %w: %s", w.runtime, id, err, lastLine(errOut))
	}
	return out, nil
}

// errStateUnknown: no record, and the runtime's state did not tell
// whether the container exists (a timeout, a signal, another error, an
// answer without a bundle).
var errStateUnknown = errors.New("cannot tell whether the container asked for a mask")

// notExist reports a definite "no such container" from the runtime's
// state: a normal exit 1 with runc's message ("container does not exist")
// or crun's (opening ROOT/ID/status: "No such file or directory").
func notExist(err error, stderr, id string) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Exited() || ee.ExitCode() != 1 {
		return false
	}
	return strings.Contains(stderr, "container does not exist") ||
		strings.Contains(stderr, "/"+id+"/status`: No such file or directory")
}

// lastLine is the last non-empty line of s (a runtime's error output).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// delete removes the records before the real runtime runs: the wrapper
// execs it and cannot act afterwards. If that delete then fails (a running
// container without --force), a later exec finds no record and asks the
// runtime's state instead, so nothing escapes the mask.
func (w *Wrapper) delete() {
	s := w.store()
	for _, id := range w.inv.IDs {
		if err := s.Delete(id); err != nil {
			w.logf(LevelWarn, "container %s: %v", id, err)
		}
	}
	collectBPF(w.logf)
}

// apply masks this process and decides by the container's policy; the
// decision goes to the node log either way.
func (w *Wrapper) apply(rec *Record) error {
	m := rec.Mask
	out, err := enforce.MaskSelf(m.Keep, m.Policy, w.node.RunDir)
	w.masked, w.rec = out, rec
	w.nodeLog(rec, out, err)
	if err != nil {
		return decided{fmt.Errorf("container %s: policy %s: %w", rec.ID, m.Policy, err)}
	}
	if out.Decision == hwcap.DecisionWarned {
		w.logf(LevelWarn, "container %s: policy warn: running without the mask: %s", rec.ID, out.Reason)
	}
	return nil
}

// collectBPF removes the eBPF backend's entries of cgroups that are gone
// (containers deleted since), when the backend is installed. This delete's
// own container still has its cgroup (the runtime removes it after the
// wrapper execs it): a later delete, the hook's poststop stage or
// `hwcapctl bpf gc` collects that one.
func collectBPF(logf func(level logrus.Level, format string, args ...any)) {
	dir := bpf.Dir()
	if _, err := os.Lstat(filepath.Join(dir, "link_exec")); err != nil {
		return
	}
	b, err := bpf.Open(dir)
	if err != nil {
		return
	}
	defer b.Close()
	if _, err := b.GC(); err != nil {
		logf(LevelWarn, "eBPF backend: collect stale cgroup entries: %v", err)
	}
}

// exit reports err, which stopped the wrapper before the exec, as one
// line on stderr and in the runtime's --log file and, unless its decision
// is in the node log already (decided), as a "failed" line there; it
// returns err's exit code. This is the one place an error becomes an
// exit code.
func (w *Wrapper) exit(err error) int {
	if err == nil {
		return 0 // a detached restore on the eBPF backend ran the runtime as a child
	}
	var st runtimeStatus
	if errors.As(err, &st) {
		return int(st) // the runtime ran and said why
	}
	code := exitCode(err)
	msg := "hwcap-runtime: " + oneLine(err.Error())
	fmt.Fprintln(w.Stderr, msg)
	if p, ok := logFilePath(w.inv.Log); ok {
		_ = appendLog(p, formatLine(w.inv.LogFormat, LevelError, msg, w.Now()))
	}
	if !errors.As(err, new(decided)) {
		w.nodeRecord(logging.Record{Decision: hwcap.DecisionFailed, Err: err, Fields: logrus.Fields{"exit": code}})
	}
	return code
}

// exitCode is the wrapper's exit code for err: 127 when no runtime was
// found, 126 when it could not be executed, else 1 (refused, or bad
// input).
func exitCode(err error) int {
	switch {
	case errors.As(err, new(*execError)):
		return ExitNotExec
	case errors.Is(err, ErrNoRuntime):
		return ExitNotFound
	}
	return ExitRefused
}

// execError: the real runtime was found but execve failed.
type execError struct {
	path string
	err  error
}

func (e *execError) Error() string { return fmt.Sprintf("exec %s: %v", e.path, e.err) }
func (e *execError) Unwrap() error { return e.err }

// runtimeStatus is the non-zero exit status of the real runtime run as a
// child (a detached restore on the eBPF backend): the runtime has said
// why, so exit adds no line and returns the status.
type runtimeStatus int

func (s runtimeStatus) Error() string {
	return fmt.Sprintf("the runtime exited with status %d", int(s))
}

// decided is an error whose decision the node log already has (a refused
// mask, a refused restore): exit adds no "failed" line for it.
type decided struct{ error }

func (d decided) Unwrap() error { return d.error }

// logf writes a line where the runtime writes its own logs: the --log
// file, else stderr (runc's default). Never stdout.
func (w *Wrapper) logf(level logrus.Level, format string, args ...any) {
	msg := "hwcap-runtime: " + oneLine(fmt.Sprintf(format, args...))
	if p, ok := logFilePath(w.inv.Log); ok {
		if appendLog(p, formatLine(w.inv.LogFormat, level, msg, w.Now())) == nil {
			return
		}
	}
	fmt.Fprintln(w.Stderr, msg)
}
