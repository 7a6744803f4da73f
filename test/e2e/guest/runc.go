package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Paths inside the container's rootfs and on the guest.
const (
	ctrPayload   = "/hwcapreport"
	ctrShim      = "/usr/local/bin/hwcap-shim" // the node's shimPath, so the guard recognises it
	ctrProfile   = "/etc/hwcap-e2e/profile.json"
	nodeConfig   = "/etc/hwcap/config.json"
	nodeLog      = "/var/log/hwcap/hwcap.log"
	nodeProfiles = "/etc/hwcap/profiles"
	nodeProfile  = "e2e"
	denyKey      = "hwcap.dev/deny"
	cmdTimeout   = 2 * time.Minute
	waitTimeout  = time.Minute
)

// ctr is one container to run.
type ctr struct {
	name    string            // for logs
	wrapper bool              // start through hwcap-runtime, else plain runc
	rtArgs  []string          // with wrapper: its own leading arguments (--hwcap-profile NAME)
	args    []string          // process.args
	ann     map[string]string // annotations
	hooks   []string          // hwcap-hook stages in config.json: createRuntime (the guard), poststart
	detach  bool              // run -d; then exec runs in it
	exec    []string          // with detach: a process for `exec`
	waitFor string            // with detach: the label/depth that ends the init's output
}

// ran is what a container run gave.
type ran struct {
	id      string
	code    int // exit code of run (of the runtime, or the container)
	stdout  string
	stderr  string
	execOut string
	execErr string
	secs    float64
	rep     *report // payload reports of init, its descendants and exec
	err     error   // the harness failed (not the container)
}

// setup writes the node configuration and the shared read-only rootfs.
func (g *guest) setup() error {
	rootfs := filepath.Join(g.work, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "run", "usr/local/bin", "etc/hwcap-e2e", "bundles"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox: %w", err)
	}
	for src, dst := range map[string]string{busybox: "bin/busybox", g.payload: ctrPayload, filepath.Join(g.bin, "hwcap-shim"): ctrShim} {
		if err := copyFile(src, filepath.Join(rootfs, dst)); err != nil {
			return err
		}
	}
	if err := os.Symlink("busybox", filepath.Join(rootfs, "bin/sh")); err != nil {
		return err
	}
	prof, err := json.Marshal(map[string]any{"version": "hwcap.dev/v1", "arch": g.m.Arch,
		"description": "e2e allow list", "allow": g.plan.profile})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(rootfs, ctrProfile), prof, 0o644); err != nil {
		return err
	}
	// The same profile as a node profile, for hwcap-runtime --hwcap-profile.
	if err := os.MkdirAll(nodeProfiles, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(nodeProfiles, nodeProfile+".json"), prof, 0o644); err != nil {
		return err
	}
	cfg, err := json.Marshal(map[string]any{"defaultPolicy": "enforce", "logFile": nodeLog,
		"runtimes": []string{"runc"}, "shimPath": ctrShim, "runDir": "/run/hwcap", "profileDir": nodeProfiles})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(nodeConfig), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(nodeConfig, cfg, 0o644); err != nil {
		return err
	}
	// hwcap-shim sits at the same path on the node; bundle bind-mounts it.
	if _, err := os.Stat(ctrShim); err != nil {
		return fmt.Errorf("the node's shimPath: %w", err)
	}
	if g.logs != "" {
		return os.MkdirAll(g.logs, 0o755)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// bundle makes a bundle with `runc spec` and adjusts its config.json.
func (g *guest) bundle(id string, c ctr) (string, error) {
	dir := filepath.Join(g.work, "bundles", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if out, err := exec.Command("runc", "spec", "--bundle", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("runc spec: %w: %s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return "", fmt.Errorf("runc spec's config.json: %w", err)
	}
	cfg["root"] = map[string]any{"path": filepath.Join(g.work, "rootfs"), "readonly": true}
	proc, _ := cfg["process"].(map[string]any)
	if proc == nil {
		return "", errors.New("runc spec's config.json has no process")
	}
	proc["terminal"] = false
	proc["args"] = c.args
	proc["env"] = []string{"PATH=/usr/local/bin:/bin", "TERM=dumb"}
	mounts, _ := cfg["mounts"].([]any)
	for _, d := range []string{"/run", "/tmp"} {
		mounts = append(mounts, map[string]any{"destination": d, "type": "tmpfs", "source": "tmpfs",
			"options": []string{"nosuid", "nodev", "mode=1777"}})
	}
	// The guard takes args[0] for the node's shim only as a read-only bind
	// mount of shimPath (SECURITY.md); the rootfs copy would be the image's.
	if len(c.args) > 0 && c.args[0] == ctrShim {
		mounts = append(mounts, map[string]any{"destination": ctrShim, "type": "bind", "source": ctrShim,
			"options": []string{"rbind", "ro", "nosuid", "nodev"}})
	}
	cfg["mounts"] = mounts
	if len(c.ann) > 0 {
		cfg["annotations"] = c.ann
	}
	if len(c.hooks) > 0 {
		hooks := map[string]any{}
		for _, stage := range c.hooks {
			hooks[stage] = []any{map[string]any{"path": filepath.Join(g.bin, "hwcap-hook"),
				"args": []string{"hwcap-hook", stage}, "env": []string{"HWCAP_CONFIG=" + nodeConfig}, "timeout": 60}}
		}
		cfg["hooks"] = hooks
	}
	b, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(path, b, 0o644)
}

// runtime returns the runtime binary of c and its global arguments.
func (g *guest) runtime(c ctr) []string {
	argv := []string{"runc"}
	if c.wrapper {
		argv = append([]string{filepath.Join(g.bin, "hwcap-runtime")}, c.rtArgs...)
	}
	return append(argv, "--root", filepath.Join(g.work, "state"))
}

// command runs argv with a timeout. With files, stdout and stderr go to
// them instead: a detached container's processes inherit the runtime's
// stdio, and a pipe they hold open would keep Wait from returning.
func command(argv []string, files ...*os.File) (stdout, stderr string, code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if len(files) == 2 {
		cmd.Stdout, cmd.Stderr = files[0], files[1]
	}
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ctx.Err() == nil:
		return so.String(), se.String(), ee.ExitCode(), nil
	case err != nil:
		return so.String(), se.String(), -1, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return so.String(), se.String(), 0, nil
}

// start runs container c and, for a detached one, its exec process; it
// always removes the container again.
func (g *guest) start(c ctr) (r ran) {
	g.seq++
	r.id = fmt.Sprintf("e2e-%02d-%s", g.seq, c.name)
	id := r.id
	begin := time.Now()
	rt := g.runtime(c)
	defer func() {
		// A container that is still there is killed and removed (through
		// the same runtime, so the wrapper drops its record).
		if _, _, code, _ := command(append(append([]string{}, rt...), "state", id)); code == 0 {
			_, _, _, _ = command(append(append([]string{}, rt...), "delete", "--force", id))
		}
		r.secs = since(begin)
		g.keep(r)
	}()
	dir, err := g.bundle(id, c)
	if err != nil {
		r.err = err
		return r
	}
	argv := append(append([]string{}, rt...), "run", "--no-pivot", "--bundle", dir)
	if !c.detach {
		r.stdout, r.stderr, r.code, r.err = command(append(argv, id))
		if r.err == nil {
			r.rep, r.err = parseReport(r.stdout)
		}
		return r
	}
	// Detached: the init writes to files until it pauses.
	outPath, errPath := filepath.Join(dir, "init.out"), filepath.Join(dir, "init.err")
	fo, err := os.Create(outPath)
	if err != nil {
		r.err = err
		return r
	}
	defer fo.Close()
	fe, err := os.Create(errPath)
	if err != nil {
		r.err = err
		return r
	}
	defer fe.Close()
	_, _, r.code, r.err = command(append(argv, "--detach", id), fo, fe)
	if b, err := os.ReadFile(errPath); err == nil {
		r.stderr = string(b)
	}
	if r.err != nil || r.code != 0 {
		return r
	}
	label, depth, _ := strings.Cut(c.waitFor, "/")
	deadline := time.Now().Add(waitTimeout)
	for {
		b, _ := os.ReadFile(outPath)
		r.stdout = string(b)
		if rep, err := parseReport(r.stdout); err == nil {
			if p := rep.find(label, atoi(depth)); p != nil && len(p.views) == 3 && (p.dispatch != "" || g.m.Arch != "arm64") {
				break
			}
		}
		if time.Now().After(deadline) {
			r.err = fmt.Errorf("the detached container's output did not reach %s within %s", c.waitFor, waitTimeout)
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	var code int
	r.execOut, r.execErr, code, r.err = command(append(append(append([]string{}, rt...), "exec", id), c.exec...))
	if r.err == nil && code != 0 {
		r.err = fmt.Errorf("exec %s: exit %d: %s", strings.Join(c.exec, " "), code, strings.TrimSpace(r.execErr))
	}
	if r.err == nil {
		r.rep, r.err = parseReport(r.stdout + r.execOut)
	}
	return r
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// keep saves a container's output for the report.
func (g *guest) keep(r ran) {
	if g.logs == "" {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "== %s: exit %d, %.1fs\n== stdout\n%s== stderr\n%s", r.id, r.code, r.secs, r.stdout, r.stderr)
	if r.execOut != "" || r.execErr != "" {
		fmt.Fprintf(&b, "== exec stdout\n%s== exec stderr\n%s", r.execOut, r.execErr)
	}
	if r.err != nil {
		fmt.Fprintf(&b, "== harness error\n%v\n", r.err)
	}
	_ = os.WriteFile(filepath.Join(g.logs, r.id+".txt"), []byte(b.String()), 0o644)
}

// logRecord is the part of a node log line checked here.
type logRecord struct {
	Component string `json:"component"`
	Container string `json:"container"`
	Stage     string `json:"stage"`
	Decision  string `json:"decision"`
	Reason    string `json:"reason"`
}

// decisions returns "stage=decision" for each hwcap-hook line about id.
func decisions(id string) ([]string, error) {
	b, err := os.ReadFile(nodeLog)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec logRecord
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Component != "hwcap-hook" || rec.Container != id {
			continue
		}
		out = append(out, rec.Stage+"="+rec.Decision)
	}
	return out, nil
}
