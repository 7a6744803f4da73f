package main

import (
	"fmt"
	"strings"

	"github.com/hwcap/hwcap/test/e2e"
)

// who names one process of a payload tree: its label and depth (0 is the
// process the runtime started, 1 its child, 2 its grandchild).
type who struct {
	label string
	depth int
}

var (
	initP       = who{"init", 0}
	childP      = who{"init", 1}
	grandchildP = who{"init", 2}
	execP       = who{"exec", 0}
	execChildP  = who{"exec", 1}
	initTree    = []who{initP, childP, grandchildP}
)

// payloadArgs starts the payload as label with two levels of descendants.
func payloadArgs(label string, extra ...string) []string {
	return append([]string{ctrPayload, "--label", label, "--children", "2"}, extra...)
}

// dispatchSum is what both dispatcher paths compute: sum of 7i+1, i<1000.
const dispatchSum = 7*999*1000/2 + 1000

// all runs every check of this machine, in order.
func (g *guest) all() error {
	if err := g.hardware(); err != nil {
		return err
	}
	if g.runs(e2e.CheckProbe) {
		g.probeGuest()
	}
	if err := g.setup(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	g.baseline()
	if g.runs(e2e.CheckShimInit) {
		g.shimDeny()
	}
	g.shimProfile()
	g.shimCannotAdd()
	if g.runs(e2e.CheckShimCannotAddRaw) {
		g.shimRaw()
	}
	if g.runs(e2e.CheckWrapperInit) {
		g.wrapperDeny()
	}
	if g.runs(e2e.CheckWrapperNone) {
		g.wrapperNone()
	}
	if g.runs(e2e.CheckWrapperProfileArg) {
		g.wrapperProfileArg()
	}
	if g.runs(e2e.CheckHookWrapper) {
		g.hookWrapper()
		g.hookShim()
		g.hookPlain()
	}
	return nil
}

// failed says why a container run cannot be judged, or "" if it can.
func failed(r ran) string {
	switch {
	case r.err != nil:
		return fmt.Sprintf("container %s: %v; stderr: %s", r.id, r.err, oneLine(r.stderr))
	case r.code != 0:
		return fmt.Sprintf("container %s: exit %d; stderr: %s", r.id, r.code, oneLine(r.stderr))
	case r.rep == nil || len(r.rep.procs) == 0:
		return fmt.Sprintf("container %s: the payload printed nothing; stderr: %s", r.id, oneLine(r.stderr))
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

// words compares what each process in ps saw with want: the proc and
// stack views in full, the getauxval view from gaFrom on.
func (g *guest) words(r ran, ps []who, want words) (bool, string) {
	if why := failed(r); why != "" {
		return false, why
	}
	var parts []string
	ok := true
	for _, w := range ps {
		p := r.rep.find(w.label, w.depth)
		if p == nil {
			ok = false
			parts = append(parts, fmt.Sprintf("%s[%d]: no report", w.label, w.depth))
			continue
		}
		var bad []string
		for _, src := range []string{"proc", "stack", "getauxval"} {
			v, seen := p.views[src]
			from := 0
			if src == "getauxval" {
				from = g.gaFrom
			}
			if !seen || !v.equal(want, from) {
				bad = append(bad, fmt.Sprintf("%s %s", src, v))
			}
		}
		// The process the runtime started is the container's PID 1.
		if w == initP && p.pid != 1 {
			bad = append(bad, fmt.Sprintf("pid %d, want 1", p.pid))
		}
		if len(bad) > 0 {
			ok = false
			parts = append(parts, fmt.Sprintf("%s: got %s; want %s", p.name(), strings.Join(bad, "; "), want))
			continue
		}
		views := "proc=stack=getauxval"
		if g.gaFrom > 0 {
			views = "proc=stack, getauxval from hwcap2"
		}
		parts = append(parts, fmt.Sprintf("%s ppid %d: %s (%s)", p.name(), p.ppid, want, views))
	}
	return ok, strings.Join(parts, "; ")
}

// emitWords emits one check per process group.
func (g *guest) emitWords(r ran, want words, checks map[string][]who, order ...string) {
	for _, c := range order {
		ok, detail := g.words(r, checks[c], want)
		g.emit(c, ok, r.secs, detail)
	}
}

// dispatch checks the path the payload's dispatcher took in each process.
func (g *guest) dispatch(check string, r ran, ps []who, path string) {
	if why := failed(r); why != "" {
		g.emit(check, false, r.secs, why)
		return
	}
	var parts []string
	ok := true
	for _, w := range ps {
		p := r.rep.find(w.label, w.depth)
		switch {
		case p == nil:
			ok = false
			parts = append(parts, fmt.Sprintf("%s[%d]: no report", w.label, w.depth))
		case p.dispatch != path || p.sum != dispatchSum:
			ok = false
			parts = append(parts, fmt.Sprintf("%s: path %q sum %d, want path %q sum %d", p.name(), p.dispatch, p.sum, path, dispatchSum))
		default:
			parts = append(parts, fmt.Sprintf("%s: %s", p.name(), path))
		}
	}
	g.emit(check, ok, r.secs, strings.Join(parts, "; "))
}

// sveWant is the unmasked dispatcher's path on this CPU.
func (g *guest) sveWant() string {
	if has(g.m.Arch, g.hw, "sve") {
		return "sve"
	}
	return "neon"
}

// needPresent fails the given checks if the CPU lacks a feature that is
// to be hidden (hiding it would prove nothing).
func (g *guest) needPresent(names []string, checks ...string) bool {
	var missing []string
	for _, n := range names {
		if !has(g.m.Arch, g.hw, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return true
	}
	for _, c := range checks {
		g.emit(c, false, 0, fmt.Sprintf("%v: this CPU (%s) lacks %s, so hiding it proves nothing; pick another feature", errPrecondition, g.hw, strings.Join(missing, ",")))
	}
	return false
}

func (g *guest) keepOnly(names []string) words {
	b, err := bits(g.m.Arch, names)
	if err != nil {
		panic(err) // the plans above name only features of the table
	}
	return g.hw.and(b)
}

func (g *guest) hide(names []string) words {
	b, err := bits(g.m.Arch, names)
	if err != nil {
		panic(err)
	}
	var keep [nWords]uint64
	for i := range keep {
		keep[i] = ^b[i]
	}
	return g.hw.and(keep)
}

// baseline: plain runc, no mask: every process sees the hardware words.
func (g *guest) baseline() {
	r := g.start(ctr{name: "baseline", args: payloadArgs("init")})
	ok, detail := g.words(r, initTree, g.hw)
	g.emit(e2e.CheckBaseline, ok, r.secs, detail)
	if g.runs(e2e.CheckDispatchUnmasked) {
		g.dispatch(e2e.CheckDispatchUnmasked, r, initTree, g.sveWant())
	}
}

// shimDeny: process.args = hwcap-shim --deny F -- payload.
func (g *guest) shimDeny() {
	checks := []string{e2e.CheckShimInit, e2e.CheckShimChild, e2e.CheckShimGrandchild}
	if g.runs(e2e.CheckDispatchShim) {
		checks = append(checks, e2e.CheckDispatchShim)
	}
	if !g.needPresent(g.plan.deny, checks...) {
		return
	}
	deny := strings.Join(g.plan.deny, ",")
	r := g.start(ctr{name: "shim-deny", args: append([]string{ctrShim, "--deny", deny, "--"}, payloadArgs("init")...)})
	g.emitWords(r, g.hide(g.plan.deny), map[string][]who{
		e2e.CheckShimInit: {initP}, e2e.CheckShimChild: {childP}, e2e.CheckShimGrandchild: {grandchildP},
	}, e2e.CheckShimInit, e2e.CheckShimChild, e2e.CheckShimGrandchild)
	if g.runs(e2e.CheckDispatchShim) {
		g.dispatch(e2e.CheckDispatchShim, r, initTree, "neon")
	}
}

// shimProfile: an allow-list profile file hides every other bit.
func (g *guest) shimProfile() {
	r := g.start(ctr{name: "shim-profile", args: append([]string{ctrShim, "--profile", ctrProfile, "--"}, payloadArgs("init")...)})
	want := g.keepOnly(g.plan.profile)
	ok, detail := g.words(r, initTree, want)
	g.emit(e2e.CheckShimProfile, ok, r.secs, fmt.Sprintf("profile allows %s; %s", strings.Join(g.plan.profile, ","), detail))
}

// shimCannotAdd: an allow list naming features the CPU lacks adds none.
func (g *guest) shimCannotAdd() {
	var absent []string
	for _, n := range g.plan.cannotAdd {
		if !has(g.m.Arch, g.hw, n) {
			absent = append(absent, n)
		}
	}
	if len(absent) == 0 {
		g.emit(e2e.CheckShimCannotAdd, false, 0, fmt.Sprintf("%v: this CPU (%s) has every feature of %s; name one it lacks", errPrecondition, g.hw, strings.Join(g.plan.cannotAdd, ",")))
		return
	}
	allow := strings.Join(g.plan.cannotAdd, ",")
	r := g.start(ctr{name: "shim-cannot-add", args: append([]string{ctrShim, "--allow", allow, "--"}, payloadArgs("init")...)})
	want := g.keepOnly(g.plan.cannotAdd)
	ok, detail := g.words(r, initTree, want)
	g.emit(e2e.CheckShimCannotAdd, ok, r.secs, fmt.Sprintf("--allow %s, CPU lacks %s; %s", allow, strings.Join(absent, ","), detail))
}

// shimRaw: a raw mask of all ones changes nothing.
func (g *guest) shimRaw() {
	var parts []string
	for i := range nWords {
		if g.hw.present[i] {
			parts = append(parts, fmt.Sprintf("%s=%#x", wordNames[i], allOnes[i]))
		}
	}
	mask := strings.Join(parts, ",")
	r := g.start(ctr{name: "shim-raw", args: append([]string{ctrShim, "--mask", mask, "--"}, payloadArgs("init")...)})
	ok, detail := g.words(r, initTree, g.hw)
	g.emit(e2e.CheckShimCannotAddRaw, ok, r.secs, fmt.Sprintf("--mask %s; %s", mask, detail))
}

// wrapperRun starts a detached container through hwcap-runtime and an
// exec process in it.
func (g *guest) wrapperRun(name string, ann map[string]string) ran {
	return g.start(ctr{name: name, wrapper: true, ann: ann, detach: true,
		args:    payloadArgs("init", "--pause"),
		exec:    []string{ctrPayload, "--label", "exec", "--children", "1"},
		waitFor: "init/2"})
}

// wrapperDeny: hwcap-runtime with hwcap.dev/deny; init, descendants and a
// process started with `hwcap-runtime exec` are all masked.
func (g *guest) wrapperDeny() {
	checks := []string{e2e.CheckWrapperInit, e2e.CheckWrapperChild, e2e.CheckWrapperGrandchild, e2e.CheckWrapperExec, e2e.CheckWrapperExecChild}
	all := checks
	if g.runs(e2e.CheckDispatchWrapper) {
		all = append(all, e2e.CheckDispatchWrapper)
	}
	if !g.needPresent(g.plan.deny, all...) {
		return
	}
	r := g.wrapperRun("wrapper-deny", map[string]string{denyKey: strings.Join(g.plan.deny, ",")})
	g.emitWords(r, g.hide(g.plan.deny), map[string][]who{
		e2e.CheckWrapperInit: {initP}, e2e.CheckWrapperChild: {childP}, e2e.CheckWrapperGrandchild: {grandchildP},
		e2e.CheckWrapperExec: {execP}, e2e.CheckWrapperExecChild: {execChildP},
	}, checks...)
	if g.runs(e2e.CheckDispatchWrapper) {
		g.dispatch(e2e.CheckDispatchWrapper, r, append(append([]who{}, initTree...), execP, execChildP), "neon")
	}
}

// wrapperNone: through hwcap-runtime without an annotation nothing changes.
func (g *guest) wrapperNone() {
	r := g.wrapperRun("wrapper-none", nil)
	ok, detail := g.words(r, append(append([]who{}, initTree...), execP, execChildP), g.hw)
	g.emit(e2e.CheckWrapperNone, ok, r.secs, detail)
}

// wrapperProfileArg: no annotation, the runtime called with
// --hwcap-profile (as Docker's runtimeArgs do): init, descendants and exec
// get the profile's allow list.
func (g *guest) wrapperProfileArg() {
	r := g.start(ctr{name: "wrapper-profile-arg", wrapper: true, rtArgs: []string{"--hwcap-profile", nodeProfile}, detach: true,
		args:    payloadArgs("init", "--pause"),
		exec:    []string{ctrPayload, "--label", "exec", "--children", "1"},
		waitFor: "init/2"})
	ok, detail := g.words(r, append(append([]who{}, initTree...), execP, execChildP), g.keepOnly(g.plan.profile))
	g.emit(e2e.CheckWrapperProfileArg, ok, r.secs, fmt.Sprintf("--hwcap-profile %s (allows %s); %s", nodeProfile, strings.Join(g.plan.profile, ","), detail))
}

// Stages of hwcap-hook in config.json.
var (
	guardOnly      = []string{"createRuntime"}
	guardPoststart = []string{"createRuntime", "poststart"}
)

// hookWrapper: the guard (and poststart) in config.json pass when the
// container starts through hwcap-runtime: the waiting init already carries
// the mask. The hooks are descendants of the masked runtime, so on a kernel
// with the series their own words are the masked ones; they take the
// host's from PID 1 as well, and so check the init rather than finding
// nothing to hide.
func (g *guest) hookWrapper() {
	if !g.needPresent(g.plan.deny, e2e.CheckHookWrapper) {
		return
	}
	r := g.start(ctr{name: "hook-wrapper", wrapper: true, hooks: guardPoststart,
		ann:  map[string]string{denyKey: strings.Join(g.plan.deny, ",")},
		args: []string{ctrPayload, "--label", "init"}})
	g.hookPassed(e2e.CheckHookWrapper, r,
		[]string{"createRuntime=masked"},
		[]string{"poststart=confirmed"})
}

// hookShim: plain runc, entrypoint hwcap-shim with the same mask: the
// guard passes (the kernel passes masks on), and poststart passes: it
// confirms the mask, or (runc 1.1 runs poststart before the entrypoint's
// exec) accepts the covering shim entrypoint.
func (g *guest) hookShim() {
	if !g.needPresent(g.plan.deny, e2e.CheckHookShim) {
		return
	}
	deny := strings.Join(g.plan.deny, ",")
	r := g.start(ctr{name: "hook-shim", hooks: guardPoststart, ann: map[string]string{denyKey: deny},
		args: []string{ctrShim, "--deny", deny, "--", ctrPayload, "--label", "init"}})
	g.hookPassed(e2e.CheckHookShim, r, []string{"createRuntime=shim"}, []string{"poststart=confirmed", "poststart=shim", "poststart=exited"})
}

// hookPassed: the container ran masked and, for each group of decisions,
// the node log holds one of them.
func (g *guest) hookPassed(check string, r ran, want ...[]string) {
	ok, detail := g.words(r, []who{initP}, g.hide(g.plan.deny))
	dec, err := decisions(r.id)
	if err != nil {
		g.emit(check, false, r.secs, fmt.Sprintf("node log: %v; %s", err, detail))
		return
	}
	var wants []string
	for _, group := range want {
		found := false
		for _, d := range group {
			found = found || contains(dec, d)
		}
		ok = ok && found
		wants = append(wants, strings.Join(group, " or "))
	}
	g.emit(check, ok, r.secs, fmt.Sprintf("node log %s (want %s); %s", strings.Join(dec, ","), strings.Join(wants, "; "), detail))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// guardMessage is the part of the guard's refusal that names the cause.
const guardMessage = "does not carry the mask and the container is not started through hwcap-runtime or hwcap-shim"

// hookPlain: plain runc with the guard, policy enforce: create fails with
// the guard's message and the payload never runs.
func (g *guest) hookPlain() {
	if !g.needPresent(g.plan.deny, e2e.CheckHookPlain) {
		return
	}
	r := g.start(ctr{name: "hook-plain", hooks: guardOnly,
		ann:  map[string]string{denyKey: strings.Join(g.plan.deny, ",")},
		args: []string{ctrPayload, "--label", "init"}})
	if r.err != nil {
		g.emit(e2e.CheckHookPlain, false, r.secs, fmt.Sprintf("container %s: %v", r.id, r.err))
		return
	}
	dec, err := decisions(r.id)
	if err != nil {
		g.emit(e2e.CheckHookPlain, false, r.secs, fmt.Sprintf("node log: %v", err))
		return
	}
	ran := r.rep != nil && len(r.rep.procs) > 0
	ok := r.code != 0 && strings.Contains(r.stderr, guardMessage) && !ran && contains(dec, "createRuntime=refused")
	g.emit(e2e.CheckHookPlain, ok, r.secs, fmt.Sprintf("runc exit %d, payload ran=%t, node log %s; runc: %s",
		r.code, ran, strings.Join(dec, ","), oneLine(lastLine(r.stderr))))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
