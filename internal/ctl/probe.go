package ctl

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/enforce"
	"github.com/hwcap/hwcap/internal/probe"
)

// procStatus is read for CapEff; a variable so tests can use a fixture.
var procStatus = "/proc/self/status"

// relevantCaps are the capabilities that decide what hwcap can do here.
var relevantCaps = []struct {
	bit  uint
	name string
	why  string
}{
	{24, "sys_resource", "PR_SET_MM_AUXV"},
	{40, "checkpoint_restore", "CRIU restore"},
	{21, "sys_admin", "CRIU restore on older kernels; bpf_probe_write_user"},
	{39, "bpf", "the eBPF backend"},
	{19, "sys_ptrace", "inspect other users' processes"},
}

type probePath struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

type probeReport struct {
	Kernel   string               `json:"kernel"`
	BootID   string               `json:"bootID"`
	Paths    map[string]probePath `json:"paths"`
	Inherits bool                 `json:"inherits"`
	// Backend is what hwcap-shim, hwcap-runtime and hwcap-hook use here:
	// series (prctl paths inherit), bpf (the eBPF backend works) or none.
	Backend      string          `json:"backend"`
	BPFDir       string          `json:"bpfDir"`
	Available    []string        `json:"availablePaths"`
	CapEff       string          `json:"capEff"`
	Capabilities map[string]bool `json:"capabilities"`
	Cache        string          `json:"cache"`
	CacheDir     string          `json:"cacheDir"`
}

func runProbe(e *env, args []string) error {
	fs := newFlags(e, "probe")
	dir := fs.String("dir", probe.Dir(), "probe cache `DIR` (from $HWCAP_RUN_DIR, else "+probe.DefaultDir+")")
	fresh := fs.Bool("fresh", false, "probe again and ignore (do not write) the cache")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (probe takes no arguments)", pos[0])
	}
	var r *probe.Result
	if *fresh {
		if r, err = probe.Run(); err == nil {
			r.Cache = "off: --fresh"
		}
	} else {
		r, err = probe.Cached(*dir)
	}
	if err != nil {
		return err
	}
	capEff, err := readCapEff(procStatus)
	if err != nil {
		return err
	}
	rep := probeReport{Kernel: r.Kernel, BootID: r.BootID, Paths: map[string]probePath{}, Inherits: r.Inherits(auxv.Paths...),
		CapEff: fmt.Sprintf("%#x", capEff), Capabilities: map[string]bool{}, Cache: r.Cache, CacheDir: *dir}
	for p, pr := range r.Paths {
		rep.Paths[string(p)] = probePath{Status: string(pr.Status), Detail: pr.Detail}
	}
	if r.BPF != nil {
		rep.Paths[probe.PathBPF] = probePath{Status: string(r.BPF.Status), Detail: r.BPF.Detail}
	}
	rep.BPFDir = bpf.Dir()
	switch {
	case rep.Inherits:
		rep.Backend = string(enforce.BackendSeries)
	case r.BPFWorks():
		rep.Backend = string(enforce.BackendBPF)
	default:
		rep.Backend = string(enforce.BackendNone)
	}
	for _, p := range auxv.AvailablePaths() {
		rep.Available = append(rep.Available, string(p))
	}
	for _, c := range relevantCaps {
		rep.Capabilities[c.name] = capEff&(1<<c.bit) != 0
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	w := e.stdout
	fmt.Fprintf(w, "kernel:  %s\nboot id: %s\n", rep.Kernel, rep.BootID)
	names := make([]string, 0, len(rep.Paths))
	for p := range rep.Paths {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		pr := rep.Paths[p]
		line := fmt.Sprintf("path %-5s %s", p, pr.Status)
		if pr.Detail != "" {
			line += " (" + pr.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	switch enforce.Backend(rep.Backend) {
	case enforce.BackendSeries:
		fmt.Fprintln(w, "masks:   inherited by children on this kernel (backend series)")
	case enforce.BackendBPF:
		fmt.Fprintf(w, "masks:   inherited by children through the eBPF backend in %s (backend bpf); /proc/PID/auxv keeps the kernel's words, the initial stack has the masked ones\n", rep.BPFDir)
	default:
		fmt.Fprintln(w, "masks:   NOT inherited by children on this kernel (backend none: no \"exec: inherit HWCAPs\" series, no working eBPF backend): a masked process's children see every feature")
	}
	fmt.Fprintf(w, "usable:  %s\n", strings.Join(rep.Available, ", "))
	var caps []string
	for _, c := range relevantCaps {
		mark := "no"
		if rep.Capabilities[c.name] {
			mark = "yes"
		}
		caps = append(caps, fmt.Sprintf("%s=%s (%s)", c.name, mark, c.why))
	}
	fmt.Fprintf(w, "caps:    CapEff=%s %s\n", rep.CapEff, strings.Join(caps, ", "))
	fmt.Fprintf(w, "cache:   %s in %s\n", rep.Cache, rep.CacheDir)
	return nil
}

// readCapEff returns the effective capability set from a status file.
func readCapEff(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read capabilities: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("read capabilities: %s: CapEff %q: %w", path, strings.TrimSpace(v), err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read capabilities: %w", err)
	}
	return 0, fmt.Errorf("read capabilities: %s has no CapEff line", path)
}
