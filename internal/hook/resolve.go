package hook

import (
	"fmt"
	"strings"

	"github.com/hwcap/hwcap/internal/config"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/spec"
)

// mask is a resolved request on this host.
type mask struct {
	req    *config.Request
	table  *hwcap.Table
	keep   hwcap.Words // AND mask
	host   hwcap.Words // the host's words (hostWords)
	hidden hwcap.Words // host bits the mask removes
}

// resolve validates the annotations and resolves the mask against the
// host. It returns (nil, nil) when there is no hwcap.dev/* annotation.
func (r *run) resolve(annotations map[string]string) (*mask, error) {
	t, err := r.h.Table()
	if err != nil {
		return nil, err
	}
	req, err := r.node.RequestFor(annotations, t)
	if err != nil || req == nil {
		return nil, err
	}
	keep, err := req.Keep()
	if err != nil {
		return nil, err
	}
	self, err := r.h.OwnAuxv()
	if err != nil {
		return nil, fmt.Errorf("%w: read this process's auxv: %w", errCheck, err)
	}
	m := &mask{req: req, table: t, keep: keep, host: r.hostWords(self.HWCAPs())}
	m.hidden = m.host.AndNot(keep)
	r.rec.Mask = keep.String()
	r.rec.Policy = string(req.Policy)
	r.rec.Hidden = t.Names(m.hidden)
	return m, nil
}

// hostWords is the host's words as far as the hook can tell: its own,
// together with those of PID 1 when readable. The kernel ANDs every
// process's words with what the CPU has, so the union never claims a
// feature the CPU lacks; it restores what a masked parent (hwcap-runtime)
// hid from the hook, so the guard checks the container instead of finding
// nothing to hide. An unreadable PID 1 (no permission, another pid
// namespace's init gone) leaves the hook's own words.
func (r *run) hostWords(self hwcap.Words) hwcap.Words {
	if r.h.Init == nil {
		return self
	}
	v, err := r.h.Init()
	if err != nil {
		return self
	}
	return self.Or(v.HWCAPs())
}

// describe is "mask hwcap=0x..,hwcap2=0x.. (hides a, b) requested by
// annotation hwcap.dev/deny".
func (m *mask) describe() string {
	src := "annotation " + m.req.Key
	if m.req.Profile != "" {
		src += "=" + m.req.Profile
	}
	return fmt.Sprintf("mask %s (hides %s) requested by %s", m.keep, strings.Join(m.table.Names(m.hidden), " "), src)
}

// leaks returns the hidden features words still shows, or nil.
func (m *mask) leaks(words hwcap.Words) []string {
	return m.table.Names(words.And(m.hidden))
}

// begin is the common start of the state-reading stages (guard,
// poststart): read the state, leave at once when the container has no
// hwcap.dev/* annotation (no file read, nothing logged), else load the node
// configuration and resolve the mask. done reports that the stage is over
// with exit code code (invalid input, or a mask that hides nothing here).
func (r *run) begin() (st *spec.State, m *mask, code int, done bool) {
	st, err := spec.ReadState(r.h.Stdin)
	if err != nil {
		r.h.printf("%s: %v", r.stage, err)
		return nil, nil, ExitInvalid, true
	}
	if !config.HasAnnotations(st.Annotations) {
		return nil, nil, ExitOK, true
	}
	if err := r.setup(st.ID); err != nil {
		return nil, nil, r.invalid(err), true
	}
	if m, err = r.resolve(st.Annotations); err != nil {
		return nil, nil, r.fail(err), true
	}
	if m.hidden.IsZero() {
		return nil, nil, r.finish(ExitOK, DecisionNothing, nil), true
	}
	return st, m, 0, false
}
