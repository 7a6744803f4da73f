package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hwcap/hwcap/test/e2e"
)

func main() { os.Exit(run(os.Args[1:])) }

// guest is one machine's run of the checks.
type guest struct {
	m       e2e.Machine
	kernel  string
	bin     string // hwcap binaries
	payload string // the C payload on the guest's root
	work    string // bundles, rootfs, runc state
	logs    string // container output kept for the report ("" = none)
	results io.Writer
	stdout  io.Writer
	plan    plan
	hw      words // the guest's hardware words
	gaFrom  int   // first word whose getauxval view is the kernel's
	seq     int
	failed  int
}

func run(args []string) int {
	fs := flag.NewFlagSet("e2e-guest", flag.ContinueOnError)
	cpu := fs.String("cpu", "", "QEMU CPU `model` of this guest (names the results)")
	out := fs.String("out", "", "results `file` (JSON lines, appended)")
	bin := fs.String("bin", "/usr/local/bin", "`dir` of hwcap-shim, hwcap-runtime, hwcap-hook, hwcapctl")
	payload := fs.String("payload", "/usr/local/libexec/hwcap-e2e/hwcapreport", "the C payload `path`")
	work := fs.String("work", "/tmp/e2e", "work `dir`")
	logs := fs.String("logs", "", "`dir` to keep each container's output in")
	host := fs.Bool("host", false, "run only the host check (probe.host) with -bin's hwcapctl")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "e2e-guest: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *out == "" {
		fmt.Fprintln(os.Stderr, "e2e-guest: -out is required")
		return 2
	}
	m := e2e.Machine{Arch: runtime.GOARCH, CPU: *cpu}
	if *host {
		m.CPU = e2e.HostCPU
	}
	if _, err := e2e.ParseMachine(m.String()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e-guest: -cpu %q: %v\n", *cpu, err)
		return 2
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e-guest:", err)
		return 2
	}
	defer f.Close()
	g := &guest{m: m, kernel: kernelRelease(), bin: *bin, payload: *payload, work: *work, logs: *logs,
		results: f, stdout: os.Stdout, plan: plans[m.Arch]}
	if m.Arch == "amd64" {
		g.gaFrom = 1
	}
	if *host {
		g.probeHost()
	} else if err := g.all(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e-guest:", err)
		return 1
	}
	if g.failed > 0 {
		return 1
	}
	return 0
}

// emit records one check.
func (g *guest) emit(check string, pass bool, secs float64, detail string) {
	r := e2e.Result{Arch: g.m.Arch, CPU: g.m.CPU, Kernel: g.kernel, Check: check, Pass: pass, Detail: detail, Seconds: secs}
	if !pass {
		g.failed++
	}
	if err := r.Encode(g.results); err != nil {
		fmt.Fprintln(os.Stderr, "e2e-guest: write result:", err)
		g.failed++
	}
	mark := "PASS"
	if !pass {
		mark = "FAIL"
	}
	fmt.Fprintf(g.stdout, "%s %s %s\n", mark, check, detail)
}

// runs reports whether this machine runs check c.
func (g *guest) runs(c ...string) bool {
	for _, x := range c {
		if e2e.Runs(g.m, x) {
			return true
		}
	}
	return false
}

// probeReport is the part of `hwcapctl probe --json` checked here.
type probeReport struct {
	Kernel string `json:"kernel"`
	Paths  map[string]struct {
		Status string `json:"status"`
		Detail string `json:"detail"`
	} `json:"paths"`
	Inherits     bool            `json:"inherits"`
	Capabilities map[string]bool `json:"capabilities"`
}

func (g *guest) probe() (*probeReport, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(g.bin, "hwcapctl"), "probe", "--json", "--fresh")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("hwcapctl probe --json --fresh: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var p probeReport
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil {
		return nil, "", fmt.Errorf("hwcapctl probe --json --fresh: %w", err)
	}
	var parts []string
	for _, path := range []string{"auxv", "map"} {
		s := path + "=" + p.Paths[path].Status
		if d := p.Paths[path].Detail; d != "" {
			s += " (" + d + ")"
		}
		parts = append(parts, s)
	}
	return &p, fmt.Sprintf("kernel %s: %s, inherits=%t", p.Kernel, strings.Join(parts, ", "), p.Inherits), nil
}

// probeHost: the stock kernel under the host must not pass masks on.
func (g *guest) probeHost() {
	start := time.Now()
	p, detail, err := g.probe()
	if err != nil {
		g.emit(e2e.CheckProbeHost, false, 0, err.Error())
		return
	}
	pass := !p.Inherits && p.Paths["map"].Status == "not-inherited" && p.Paths["auxv"].Status != "inherited"
	g.emit(e2e.CheckProbeHost, pass, since(start), detail+" (want: map not-inherited, auxv not inherited)")
}

// probeGuest: the patched kernel passes masks on through both paths (the
// guest's root holds CAP_SYS_RESOURCE, so PR_SET_MM_AUXV is tried too).
func (g *guest) probeGuest() {
	start := time.Now()
	p, detail, err := g.probe()
	if err != nil {
		g.emit(e2e.CheckProbe, false, 0, err.Error())
		return
	}
	pass := p.Inherits && p.Paths["map"].Status == "inherited" && p.Paths["auxv"].Status == "inherited" &&
		p.Capabilities["sys_resource"]
	g.emit(e2e.CheckProbe, pass, since(start), fmt.Sprintf("%s, sys_resource=%t (want: both inherited)", detail, p.Capabilities["sys_resource"]))
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func since(t time.Time) float64 { return float64(time.Since(t).Milliseconds()) / 1000 }

// hardware reads the guest's own words: the payload run outside any
// container and mask.
func (g *guest) hardware() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, g.payload, "--label", "hardware").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", g.payload, err, out)
	}
	rep, err := parseReport(string(out))
	if err != nil {
		return err
	}
	p := rep.find("hardware", 0)
	if p == nil {
		return fmt.Errorf("%s printed no words: %s", g.payload, out)
	}
	proc, stack := p.views["proc"], p.views["stack"]
	if !proc.present[0] || !proc.equal(stack, 0) {
		return fmt.Errorf("%s: /proc/self/auxv (%s) and the initial stack (%s) disagree, or AT_HWCAP is missing", g.payload, proc, stack)
	}
	g.hw = proc
	fmt.Fprintf(g.stdout, "# %s, kernel %s: hardware words %s\n", g.m, g.kernel, g.hw)
	return nil
}

var errPrecondition = errors.New("precondition")
