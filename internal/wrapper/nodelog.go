package wrapper

import (
	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/logging"
)

// nodeLog appends the mask decision for one container (rec has a mask)
// to the node log.
func (w *Wrapper) nodeLog(rec *Record, out *enforce.Outcome, err error) {
	r := logging.Record{
		Container: rec.ID,
		Mask:      rec.Mask.Keep.String(),
		Policy:    string(rec.Mask.Policy),
		Err:       err,
		Fields:    logrus.Fields{"bundle": rec.Bundle},
	}
	if rec.Mask.Profile != "" {
		r.Fields["profile"] = rec.Mask.Profile
	}
	if out != nil {
		r.Decision, r.Reason = out.Decision, out.Reason
		r.Fields["before"] = out.Before.String()
		r.Fields["after"] = out.After.String()
		r.Fields["paths"] = out.Paths
		r.Fields[enforce.FieldBackend] = out.Backend
		if out.ByHost {
			r.Fields["byHost"] = true
		}
		if t, err := hwcap.Host(); err == nil {
			r.Hidden = t.Names(out.Before.AndNot(out.After))
		}
	}
	w.nodeRecord(r)
}

// nodeRecord writes one line to the node's logFile ("" = none); the hook
// writes the same file, and "component" tells them apart. Failing to log
// never changes what the wrapper does.
func (w *Wrapper) nodeRecord(r logging.Record) {
	if w.node == nil || w.node.LogFile == "" {
		return
	}
	l, err := logging.Open(w.node.LogFile, "hwcap-runtime")
	if err != nil {
		return
	}
	defer l.Close()
	r.Stage = w.inv.Command
	r.Duration = w.Now().Sub(w.start)
	if r.Container == "" {
		r.Container = w.inv.ID()
	}
	if r.Fields == nil {
		r.Fields = logrus.Fields{}
	}
	r.Fields["runtime"] = w.runtime
	_ = l.Log(r)
}
