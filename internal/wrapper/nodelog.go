package wrapper

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/hwcap/hwcap/internal/enforce"
)

// nodeLog appends the decision for one container to the node log file.
func (w *Wrapper) nodeLog(rec *Record, out *enforce.Outcome, err error) {
	f := map[string]any{
		"container": rec.ID,
		"bundle":    rec.Bundle,
		"keep":      rec.Keep.String(),
		"policy":    string(rec.Policy),
	}
	if rec.Profile != "" {
		f["profile"] = rec.Profile
	}
	if out != nil {
		f["decision"] = out.Decision
		f["before"] = out.Before.String()
		f["after"] = out.After.String()
		f["paths"] = out.Paths
		if out.Reason != "" {
			f["reason"] = out.Reason
		}
	}
	if err != nil {
		f["error"] = oneLine(err.Error())
	}
	w.nodeEvent("mask", f)
}

// nodeEvent writes one JSON line to the node's logFile ("" = none). The
// hook writes the same file; fields say which component wrote the line.
func (w *Wrapper) nodeEvent(event string, f map[string]any) {
	if w.node == nil || w.node.LogFile == "" {
		return
	}
	f["component"] = "hwcap-runtime"
	f["event"] = event
	f["command"] = w.inv.Command
	f["runtime"] = w.runtime
	f["time"] = w.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	f["duration_ms"] = float64(w.Now().Sub(w.start).Microseconds()) / 1000
	if _, ok := f["container"]; !ok && w.inv.ID() != "" {
		f["container"] = w.inv.ID()
	}
	line, err := json.Marshal(f)
	if err != nil {
		return
	}
	_ = os.MkdirAll(filepath.Dir(w.node.LogFile), 0o755)
	lf, err := os.OpenFile(w.node.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return
	}
	_, _ = lf.Write(append(line, '\n'))
	_ = lf.Close()
}
