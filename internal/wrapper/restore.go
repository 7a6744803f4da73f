package wrapper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/logging"
)

// ErrRestoreIncompatible: the checkpoint's tasks were started with CPU
// features this host lacks.
var ErrRestoreIncompatible = errors.New("checkpoint needs CPU features this host lacks")

// ImagePath returns the CRIU image directory runc restore will read: the
// last --image-path of the restore command, resolved against cwd, or
// cwd/checkpoint when none is given (runc's default is relative to its
// working directory, not to --bundle: runc restore does not chdir).
func ImagePath(inv *Invocation, cwd string) string {
	p := ""
	if inv.Command == CmdRestore {
		p = inv.ImagePath
	}
	if p == "" {
		return filepath.Join(cwd, "checkpoint")
	}
	if !filepath.IsAbs(p) {
		return filepath.Join(cwd, p)
	}
	return filepath.Clean(p)
}

// Decisions of the restore check besides the checkpoint's verdict
// (identical, superset, incompatible).
const (
	decisionNoImages  hwcap.Decision = "no-images" // no checkpoint there: the runtime reports it
	decisionUnchecked hwcap.Decision = "unchecked" // the checkpoint could not be read
)

// restoreCheck reads the checkpoint the runtime is about to restore and
// compares every task's saved AT_HWCAP* words with this host's. CRIU
// restores those words verbatim and checks no CPU feature itself (none at
// all on arm64), so a task that picked an SVE path at start would die
// with SIGILL on a host without SVE. The container's hwcap.dev/policy, else
// the node's defaultPolicy, decides: enforce refuses the restore with one
// line naming the missing features; warn logs and goes on. A checkpoint
// that cannot be read is refused under enforce too: what cannot be
// checked is not known to be safe. A missing image directory is left to
// the runtime, which fails on it with its own message.
func (w *Wrapper) restoreCheck() error {
	id := w.inv.ID()
	cwd, err := w.Getwd()
	if err != nil {
		return fmt.Errorf("container %s: current directory: %w", id, err)
	}
	pol := w.restorePolicy()
	dir := ImagePath(w.inv, cwd)
	rec := logging.Record{Stage: CmdRestore, Policy: string(pol), Fields: logrus.Fields{"images": dir}}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		// Nothing to restore: the runtime fails with its own message.
		rec.Decision, rec.Reason = decisionNoImages, "no checkpoint at "+dir
		w.nodeRecord(rec)
		return nil
	}
	r, err := w.checkImages(dir)
	switch {
	case err != nil:
		err = fmt.Errorf("container %s: cannot check checkpoint %s against this host's CPU features: %w", id, dir, err)
		rec.Decision, rec.Err = decisionUnchecked, err
	case !r.Compatible():
		err = fmt.Errorf("container %s: %w: %s", id, ErrRestoreIncompatible, describe(dir, r))
		rec.Decision, rec.Reason = hwcap.Decision(r.Verdict), err.Error()
		rec.Hidden = r.Blocking
	default:
		rec.Decision = hwcap.Decision(r.Verdict)
		w.nodeRecord(rec)
		return nil
	}
	w.nodeRecord(rec)
	if pol == hwcap.Enforce {
		return decided{fmt.Errorf("refusing restore under policy enforce: %w", err)}
	}
	w.logf(LevelWarn, "policy warn: restoring anyway: %v", err)
	return nil
}

// restorePolicy is the container's hwcap.dev/policy when its annotations
// ask for a mask, else the node's default. Bad annotations are reported by
// the mask step that follows; here they mean the node's default.
func (w *Wrapper) restorePolicy() hwcap.Policy {
	_, ann, err := readBundle(w.inv)
	if err == nil {
		if req, err := w.node.Request(w.own.withDefault(ann)); err == nil && req != nil && req.Policy != "" {
			return req.Policy
		}
	}
	return w.node.DefaultPolicy
}

// describe says which features are missing, and for which tasks.
func describe(dir string, r *imageReport) string {
	if r.Arch != r.HostArch {
		return fmt.Sprintf("checkpoint %s is for %s, this host is %s", dir, r.Arch, r.HostArch)
	}
	var tasks []string
	for _, t := range r.Tasks {
		if t.Verdict == verdictIncompatible {
			tasks = append(tasks, t.label())
		}
	}
	if len(tasks) > 3 {
		tasks = append(tasks[:3], fmt.Sprintf("%d more", len(tasks)-3))
	}
	return fmt.Sprintf("checkpoint %s: task(s) %s were started with %s, which this host lacks; restored, they get SIGILL when they use them (restore on a node that has them, or checkpoint under a hwcap.dev/profile every node satisfies)",
		dir, strings.Join(tasks, ", "), strings.Join(r.Blocking, " "))
}
