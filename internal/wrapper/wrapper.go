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

	masked  *enforce.Outcome // what apply did, when the container asked for a mask
	rec     *Record          // the container apply masked
	inv     *Invocation
	own     ownFlags
	node    *config.Node
	runtime string
	start   time.Time
	logged  bool // the node log has this invocation's decision
}

// Main runs the wrapper for this process and returns an exit code if it
// did not exec the real runtime.
func Main() int {
	w := &Wrapper{
		Args:    os.Args,
		Environ: os.Environ(),
		Getenv:  os.Getenv,
		Getwd:   os.Getwd,
		Stderr:  os.Stderr,
		Now:     time.Now,
		Exec:    execve,
		Spawn:   spawn,
		BPF:     openBackend,
		Cgroup:  bpf.CgroupOf,
	}
	return w.Run()
}

// Run decides, masks, records, and execs the real runtime.
func (w *Wrapper) Run() int {
	w.start = w.Now()
	var args []string
	if len(w.Args) > 1 {
		args = w.Args[1:]
	}
	own, rest, ownErr := splitOwn(args)
	w.inv = Parse(rest)
	w.own = own
	inv := w.inv
	if ownErr != nil {
		return w.fail(ExitRefused, ownErr)
	}

	// Pass-through with $HWCAP_RUNTIME set: no file is opened at all.
	// Otherwise the node configuration names the runtime (the same one
	// create used, so that state, delete and kill find the container).
	env := w.Getenv(EnvRuntime)
	if env == "" || inv.NeedsMask() || (inv.Command == CmdDelete && !inv.Help) {
		cfgPath, explicit := config.Path()
		before, berr := statConfig(cfgPath)
		n, err := config.Load()
		if err != nil {
			return w.fail(ExitRefused, err)
		}
		w.node = n
		// The front file lets the C front end pass the next calls
		// through without a Go start (internal/front).
		if after, aerr := statConfig(cfgPath); berr == nil && aerr == nil {
			_ = WriteFront(FrontDir, cfgPath, explicit, before, after, n)
		}
	}
	names := []string{env}
	if env == "" {
		names = w.node.Runtimes
	}
	rt, err := Lookup(names, w.Getenv("PATH"), ownExecutable())
	if err != nil {
		code := ExitNotFound
		if errors.Is(err, ErrBadRuntime) {
			code = ExitRefused
		}
		return w.fail(code, err)
	}
	w.runtime = rt

	if !inv.Help {
		if inv.Command == CmdRestore {
			if code, ok := w.restoreCheck(); !ok {
				return code
			}
		}
		switch inv.Command {
		case CmdCreate, CmdRun, CmdRestore:
			if code, ok := w.create(); !ok {
				return code
			}
		case CmdExec:
			if code, ok := w.exec(); !ok {
				return code
			}
		case CmdDelete:
			w.delete()
		}
		if w.reapplyAfterRestore() {
			return w.restoreBPF(w.rec)
		}
	}
	return w.execRuntime()
}

// execRuntime replaces the process: argv[0] becomes the real runtime's
// path and argv[1:] is ours byte for byte, as NVIDIA's runtime does (crun
// looks at argv[0] to decide whether to act as krun, so it must be the
// real binary's name). The environment is passed unchanged.
func (w *Wrapper) execRuntime() int {
	argv := append([]string{w.runtime}, w.inv.Args...)
	err := w.Exec(w.runtime, argv, w.Environ)
	return w.fail(ExitNotExec, fmt.Errorf("exec %s: %w", w.runtime, err))
}

// create handles create, run and restore: mask from the bundle's
// annotations, applied to this process, then a record for later execs.
func (w *Wrapper) create() (int, bool) {
	inv := w.inv
	id := inv.ID()
	b, ann, err := readBundle(inv)
	if err != nil {
		return w.fail(ExitRefused, fmt.Errorf("container %s: %w", id, err)), false
	}
	// The runtime gets the directory the config was read from, not a
	// path that a symlink or ".." could make it resolve elsewhere.
	if inv.Bundle != "" && inv.Bundle != b.Dir {
		inv.SetBundle(b.Dir)
	}
	req, err := w.node.Request(w.own.withDefault(ann))
	if err != nil {
		return w.fail(ExitRefused, fmt.Errorf("container %s: %w", id, err)), false
	}
	rec := &Record{
		Version: RecordVersion, ID: id, Root: inv.Root, Runtime: w.runtime,
		Bundle: b.Dir, Config: b.Config, Keep: hwcap.All, Created: w.Now().UTC(),
	}
	rec.ConfigIno, rec.ConfigMtime = fileID(b.Info)
	// A marker of the front end for this id would let an exec pass
	// through; this container's record decides from now on.
	if err := RemovePlain(w.node.RunDir, inv.Root, w.runtime, id); err != nil {
		w.logf(LevelWarn, "container %s: %v", id, err)
	}
	if req != nil {
		keep, err := req.Keep()
		if err != nil {
			return w.fail(ExitRefused, fmt.Errorf("container %s: %w", id, err)), false
		}
		rec.Masked, rec.Keep, rec.Policy, rec.Profile, rec.Keys = true, keep, req.Policy, req.Profile, req.Keys
		if code, ok := w.apply(rec); !ok {
			return code, false
		}
	}
	if ValidID(id) {
		if GCDue(w.node.RunDir, inv.Root, w.runtime, w.Now()) {
			GCRecords(w.node.RunDir, inv.Root, w.runtime)
		}
		if err := WriteRecord(w.node.RunDir, rec); err != nil {
			w.logf(LevelWarn, "container %s: %v (a later exec will ask %s state instead)", id, err, w.runtime)
		}
	}
	return 0, true
}

// exec masks an exec'd process like the container's own: from the record
// create left, else from the bundle the real runtime reports.
func (w *Wrapper) exec() (int, bool) {
	id := w.inv.ID()
	rec, err := ReadRecord(w.node.RunDir, w.inv.Root, w.runtime, id)
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
				w.nodeRecord(logging.Record{Container: id, Decision: "warned", Reason: err.Error()})
				return 0, true
			}
			return w.fail(ExitRefused, fmt.Errorf("container %s: %w; refusing the exec under policy enforce (run it again once the runtime answers, or restore the container's record in the node's runDir)", id, err)), false
		}
		if err != nil {
			return w.fail(ExitRefused, fmt.Errorf("container %s: %w", id, err)), false
		}
		if rec == nil { // no such container: the runtime says so itself
			return 0, true
		}
	}
	if !rec.Masked {
		return 0, true
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
	req, err := w.node.Request(w.own.withDefault(ann))
	if err != nil {
		return nil, err
	}
	rec := &Record{ID: id, Bundle: b.Dir, Config: b.Config, Keep: hwcap.All}
	if req != nil {
		keep, err := req.Keep()
		if err != nil {
			return nil, err
		}
		rec.Masked, rec.Keep, rec.Policy, rec.Profile, rec.Keys = true, keep, req.Policy, req.Profile, req.Keys
	}
	return rec, nil
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
	for _, id := range w.inv.IDs {
		if err := errors.Join(RemoveRecord(w.node.RunDir, w.inv.Root, w.runtime, id),
			RemovePlain(w.node.RunDir, w.inv.Root, w.runtime, id)); err != nil {
			w.logf(LevelWarn, "container %s: %v", id, err)
		}
	}
	collectBPF(w.logf)
}

// apply masks this process and decides by the container's policy.
func (w *Wrapper) apply(rec *Record) (int, bool) {
	out, err := enforce.MaskSelf(rec.Keep, rec.Policy, w.node.RunDir)
	w.masked, w.rec = out, rec
	w.nodeLog(rec, out, err)
	w.logged = true
	if err != nil {
		return w.fail(ExitRefused, fmt.Errorf("container %s: policy %s: %w", rec.ID, rec.Policy, err)), false
	}
	if out.Decision == hwcap.DecisionWarned {
		w.logf(LevelWarn, "container %s: policy warn: running without the mask: %s", rec.ID, out.Reason)
	}
	return 0, true
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

// fail reports err as one line on stderr and in the runtime's --log file,
// and returns code.
func (w *Wrapper) fail(code int, err error) int {
	msg := "hwcap-runtime: " + oneLine(err.Error())
	fmt.Fprintln(w.Stderr, msg)
	if p, ok := logFilePath(w.inv.Log); ok {
		_ = appendLog(p, formatLine(w.inv.LogFormat, LevelError, msg, w.Now()))
	}
	if !w.logged {
		w.nodeRecord(logging.Record{Decision: hwcap.DecisionFailed, Err: err, Fields: logrus.Fields{"exit": code}})
	}
	return code
}

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
