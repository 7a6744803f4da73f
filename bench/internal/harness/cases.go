package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hwcap/hwcap/internal/testutil"
)

// Groups of cases; each has its own baseline A.
const (
	GroupRun   = "run"   // A = plain `runc run` of the static payload
	GroupState = "state" // A = plain `runc state` of a created container
	GroupExec  = "exec"  // A = a bare fork+exec of the static payload
	GroupBuild = "build" // A = the same command from a baseline build (-baseline-bin)
)

// Case is a paired comparison: A (the baseline) and B are run alternately.
type Case struct {
	Key      string // short stable key for JSON and targets
	Name     string
	Group    string
	Baseline string
	A, B     func() *Cmd
	// RSS, when set, gives B's command run under the RSS launcher.
	RSS func() *Cmd
}

// RunCases returns the `runc run` cases.
func (e *Env) RunCases() []Case {
	run := func(bin, bundle string, env ...string) func() *Cmd {
		return func() *Cmd {
			dir := e.Bundles[bundle]
			return &Cmd{
				Argv:  []string{bin, "--root", e.Root, "run", "--bundle", dir, e.ID(bundle)},
				Env:   e.NodeEnv(env...),
				Dir:   dir,
				After: e.dropRecords,
			}
		}
	}
	plain := run(e.Runc, BundlePlain)
	base := "runc run"
	return []Case{
		{Key: "run-wrapper-none", Name: "hwcap-runtime, no annotation (pass-through)", Group: GroupRun, Baseline: base, A: plain, B: run(e.Bins["hwcap-runtime"], BundlePlain)},
		{Key: "run-wrapper-none-go", Name: "hwcap-runtime, no annotation, HWCAP_FRONT=off (the Go wrapper alone)", Group: GroupRun, Baseline: base, A: plain, B: run(e.Bins["hwcap-runtime"], BundlePlain, "HWCAP_FRONT=off")},
		{Key: "run-wrapper-mask", Name: "hwcap-runtime + mask (policy warn)", Group: GroupRun, Baseline: base, A: plain, B: run(e.Bins["hwcap-runtime"], BundleMask)},
		{Key: "run-hook-none", Name: "runc + hook guard configured, no annotation", Group: GroupRun, Baseline: base, A: plain, B: run(e.Runc, BundleHook)},
		{Key: "run-hook-ann", Name: "runc + hook guard configured, annotation (warn)", Group: GroupRun, Baseline: base, A: plain, B: run(e.Runc, BundleHookAnn)},
		{Key: "run-shim", Name: "runc, hwcap-shim in args (precreate form, warn)", Group: GroupRun, Baseline: base, A: plain, B: run(e.Runc, BundleShim)},
	}
}

// dropRecords removes the wrapper's container records, as the `delete`
// that containerd or podman sends through the wrapper would (`runc run`
// deletes the container itself, past the wrapper). The records
// directories stay, as on a node.
func (e *Env) dropRecords() {
	ms, _ := filepath.Glob(filepath.Join(e.RunDir, "containers", "*", "*.json"))
	for _, m := range ms {
		os.Remove(m)
	}
}

// StateContainer creates a container that stays in "created" for the
// state and hook cases, and returns its id and init pid.
func (e *Env) StateContainer() (string, int, error) {
	id := e.ID("state")
	out, err := os.Create(filepath.Join(e.Dir, "create.out"))
	if err != nil {
		return "", 0, err
	}
	defer out.Close()
	c := &Cmd{Argv: []string{e.Runc, "--root", e.Root, "create", "--bundle", e.Bundles[BundlePlain], id}, Env: e.NodeEnv(), Dir: e.Bundles[BundlePlain], Output: out}
	e.AtExit(func() { e.DeleteContainer(id) })
	if _, err := c.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		return "", 0, fmt.Errorf("%w: %s", err, oneLine(string(b)))
	}
	st := &Cmd{Argv: []string{e.Runc, "--root", e.Root, "state", id}}
	var pid int
	st.Check = func(stdout, _ string) error {
		var s struct {
			Pid    int    `json:"pid"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(stdout), &s); err != nil || s.Pid <= 0 || s.Status != "created" {
			return fmt.Errorf("unexpected state %q", stdout)
		}
		pid = s.Pid
		return nil
	}
	if _, err := st.Run(); err != nil {
		e.DeleteContainer(id)
		return "", 0, err
	}
	return id, pid, nil
}

// DeleteContainer removes a container left by StateContainer.
func (e *Env) DeleteContainer(id string) {
	c := &Cmd{Argv: []string{e.Runc, "--root", e.Root, "delete", "--force", id}}
	_, _ = c.Run()
}

// StateCases compares the wrapper's pass-through of `state` with runc's.
func (e *Env) StateCases(id string) []Case {
	state := func(bin string, env ...string) func() *Cmd {
		return func() *Cmd {
			return &Cmd{Argv: []string{bin, "--root", e.Root, "state", id}, Env: e.NodeEnv(env...), Check: wantJSON(id)}
		}
	}
	base := "runc state"
	return []Case{
		{Key: "state-wrapper", Name: "hwcap-runtime state (runtime from node config)", Group: GroupState, Baseline: base, A: state(e.Runc), B: state(e.Bins["hwcap-runtime"])},
		{Key: "state-wrapper-env", Name: "hwcap-runtime state ($HWCAP_RUNTIME set: no file read)", Group: GroupState, Baseline: base, A: state(e.Runc), B: state(e.Bins["hwcap-runtime"], "HWCAP_RUNTIME="+e.Runc)},
	}
}

func wantJSON(id string) func(string, string) error {
	return func(stdout, _ string) error {
		if !strings.Contains(stdout, `"id": "`+id+`"`) {
			return fmt.Errorf("state output does not name %s: %q", id, oneLine(stdout))
		}
		return nil
	}
}

// LiveRecords is how many other containers' records exist in the
// exec-wrapper-mask-live case (a Kubernetes node runs up to 110 pods).
const LiveRecords = 100

// ExecCases time each component on its own against a bare fork+exec of
// the static payload: what the component adds is B - A, and B's ru_maxrss
// is the component's peak RSS (the payload's is far smaller).
func (e *Env) ExecCases(pid int) []Case {
	floor := func() *Cmd { return &Cmd{Argv: []string{e.True}, Env: e.NodeEnv()} }
	state := func(bundle string, ann map[string]string, status string) []byte {
		b, _ := json.Marshal(map[string]any{
			"ociVersion": "1.0.2-dev", "id": e.ID("hook"), "status": status, "pid": pid,
			"bundle": e.Bundles[bundle], "annotations": ann,
		})
		return b
	}
	hook := func(stage, bundle string, ann map[string]string, status string) func() *Cmd {
		return func() *Cmd {
			return &Cmd{Argv: []string{e.Bins["hwcap-hook"], stage}, Env: e.NodeEnv(), Stdin: state(bundle, ann, status)}
		}
	}
	wrapper := func(bundle string) func() *Cmd {
		return func() *Cmd {
			dir := e.Bundles[bundle]
			return &Cmd{
				Argv:  []string{e.Bins["hwcap-runtime"], "--root", e.Root, "create", "--bundle", dir, e.ID("wrap")},
				Env:   e.NodeEnv("HWCAP_RUNTIME=" + e.True),
				Dir:   dir,
				After: e.dropRecords,
			}
		}
	}
	// The wrapper keeps a record per live container (create writes it,
	// delete removes it) and create garbage-collects the directory: on a
	// node with many containers every create sees them all.
	live := func(bundle string, n int) func() *Cmd {
		populated := false
		return func() *Cmd {
			if !populated {
				e.dropRecords()
				for i := 0; i < n; i++ {
					c := wrapper(BundlePlain)()
					c.After = nil // keep its record: a live container
					if _, err := c.Run(); err != nil {
						return &Cmd{Argv: []string{"/bin/sh", "-c", "echo cannot populate records: $0 >&2; exit 1", err.Error()}}
					}
				}
				populated = true
			}
			c := wrapper(bundle)()
			id := c.Argv[len(c.Argv)-1]
			c.After = func() {
				ms, _ := filepath.Glob(filepath.Join(e.RunDir, "containers", "*", id+".json"))
				for _, m := range ms {
					os.Remove(m)
				}
			}
			return c
		}
	}
	shim := func(args ...string) func() *Cmd {
		return func() *Cmd {
			return &Cmd{Argv: append(append([]string{e.Bins["hwcap-shim"]}, args...), "--", e.True), Env: envWith()}
		}
	}
	cold := 0
	shimCold := func() *Cmd {
		cold++
		dir := filepath.Join(e.Dir, "shim-cold", strconv.Itoa(cold))
		c := shim("--mask", e.Keep.String(), "--policy", "warn", "--run-dir", dir)()
		c.After = func() { os.RemoveAll(dir) }
		return c
	}
	ann := e.maskAnnotations()
	base := "fork+exec static true"
	cases := []Case{
		{Key: "exec-hook-none", Name: "hwcap-hook createRuntime, no annotation", Group: GroupExec, Baseline: base, A: floor, B: hook("createRuntime", BundleHook, map[string]string{"io.example/other": "1"}, "created")},
		{Key: "exec-hook-ann", Name: "hwcap-hook createRuntime, annotation (warn)", Group: GroupExec, Baseline: base, A: floor, B: hook("createRuntime", BundleHookAnn, ann, "created")},
		{Key: "exec-hook-poststart", Name: "hwcap-hook poststart, annotation (warn)", Group: GroupExec, Baseline: base, A: floor, B: hook("poststart", BundleHookAnn, ann, "running")},
		{Key: "exec-wrapper-none", Name: "hwcap-runtime create, no annotation, then exec", Group: GroupExec, Baseline: base, A: floor, B: wrapper(BundlePlain)},
		{Key: "exec-wrapper-mask", Name: "hwcap-runtime create + mask (warn), then exec", Group: GroupExec, Baseline: base, A: floor, B: wrapper(BundleMask)},
		{Key: "exec-wrapper-mask-live", Name: fmt.Sprintf("hwcap-runtime create + mask (warn), %d live containers' records", LiveRecords), Group: GroupExec, Baseline: base, A: floor, B: live(BundleMask, LiveRecords)},
		{Key: "exec-cfloor", Name: "minimal static C program, then exec (one extra exec)", Group: GroupExec, Baseline: base, A: floor, B: func() *Cmd { return &Cmd{Argv: []string{e.CFloor, e.True}, Env: envWith()} }},
		{Key: "exec-gofloor", Name: "minimal static Go program, then exec (the Go floor)", Group: GroupExec, Baseline: base, A: floor, B: func() *Cmd { return &Cmd{Argv: []string{e.GoFloor, e.True}, Env: envWith()} }},
		{Key: "exec-shim-none", Name: "hwcap-shim, no mask, then exec", Group: GroupExec, Baseline: base, A: floor, B: shim()},
		{Key: "exec-shim-mask", Name: "hwcap-shim --mask (warn), probe cached", Group: GroupExec, Baseline: base, A: floor, B: shim("--mask", e.Keep.String(), "--policy", "warn", "--run-dir", e.RunDir)},
		{Key: "exec-shim-cold", Name: "hwcap-shim --mask (warn), no probe cache (probes)", Group: GroupExec, Baseline: base, A: floor, B: shimCold},
	}
	if e.CFloor == "" {
		for i, c := range cases {
			if c.Key == "exec-cfloor" {
				cases = append(cases[:i], cases[i+1:]...)
				break
			}
		}
	}
	if e.RSSLauncher != "" {
		for i := range cases {
			b := cases[i].B
			cases[i].RSS = func() *Cmd {
				c := b()
				c.Argv = append([]string{e.RSSLauncher}, c.Argv...)
				return c
			}
		}
		cases = append([]Case{{Key: "exec-floor", Name: "A/A check: bare exec vs itself (RSS: true under the launcher)", Group: GroupExec, Baseline: base, A: floor, B: floor,
			RSS: func() *Cmd { return &Cmd{Argv: []string{e.RSSLauncher, e.True}} }}}, cases...)
	}
	return cases
}

// BuildCases compare this build's binaries with a baseline build's (e.g.
// the previous release, or the commit before a change), command for
// command: A runs the baseline binary, B this build's.
func (e *Env) BuildCases(baseDir string) ([]Case, error) {
	base := map[string]string{}
	for _, name := range []string{"hwcap-runtime", "hwcap-hook", "hwcap-shim"} {
		p, err := filepath.Abs(filepath.Join(baseDir, name))
		if err != nil {
			return nil, err
		}
		if err := testutil.RequireStatic(p); err != nil {
			return nil, fmt.Errorf("baseline build: %w", err)
		}
		base[name] = p
	}
	state, _ := json.Marshal(map[string]any{"ociVersion": "1.0.2-dev", "id": "x", "status": "created", "pid": 1,
		"bundle": e.Bundles[BundleHook], "annotations": map[string]string{"io.example/other": "1"}})
	pair := func(key, name string, mk func(bins map[string]string) *Cmd) Case {
		return Case{Key: key, Name: name, Group: GroupBuild, Baseline: "baseline build",
			A: func() *Cmd { return mk(base) }, B: func() *Cmd { return mk(e.Bins) }}
	}
	return []Case{
		pair("build-wrapper-state", "hwcap-runtime state ($HWCAP_RUNTIME = static true)", func(b map[string]string) *Cmd {
			return &Cmd{Argv: []string{b["hwcap-runtime"], "state", "x"}, Env: e.NodeEnv("HWCAP_RUNTIME=" + e.True)}
		}),
		pair("build-wrapper-create", "hwcap-runtime create, no annotation, then exec", func(b map[string]string) *Cmd {
			dir := e.Bundles[BundlePlain]
			return &Cmd{Argv: []string{b["hwcap-runtime"], "--root", e.Root, "create", "--bundle", dir, e.ID("build")},
				Env: e.NodeEnv("HWCAP_RUNTIME=" + e.True), Dir: dir, After: e.dropRecords}
		}),
		pair("build-hook-none", "hwcap-hook createRuntime, no annotation", func(b map[string]string) *Cmd {
			return &Cmd{Argv: []string{b["hwcap-hook"], "createRuntime"}, Env: e.NodeEnv(), Stdin: state}
		}),
		pair("build-shim-none", "hwcap-shim, no mask, then exec", func(b map[string]string) *Cmd {
			return &Cmd{Argv: []string{b["hwcap-shim"], "--", e.True}, Env: envWith()}
		}),
	}, nil
}
