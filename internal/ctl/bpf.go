package ctl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hwcap/hwcap/internal/bpf"
	"github.com/hwcap/hwcap/internal/bpf/loader"
)

// runBPF is `hwcapctl bpf install|remove|status|gc`: the node's eBPF
// backend (internal/bpf).
func runBPF(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("bpf needs a subcommand: install, remove, status or gc (see hwcapctl bpf --help)")
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprint(e.stdout, bpfUsage)
		return nil
	}
	fs := newFlags(e, "bpf")
	dir := fs.String("dir", bpf.Dir(), "where the programs, links and maps are pinned ($"+bpf.EnvDir+", else "+bpf.DefaultDir+")")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var dry *bool
	if sub == "install" {
		dry = fs.Bool("dry-run", false, "attach the programs without their write (works under lockdown): they count and record what they would mask, and change nothing")
	}
	pos, err := parse(e, fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bpf %s: unexpected argument %q", sub, pos[0])
	}
	switch sub {
	case "install":
		mode := bpf.ModeWrite
		if *dry {
			mode = bpf.ModeDryRun
		}
		res, err := loader.Install(*dir, mode)
		if err != nil {
			return fmt.Errorf("install: %w", err)
		}
		if *asJSON {
			return writeJSON(e.stdout, res)
		}
		fmt.Fprintf(e.stdout, "%s: %s mode, pinned under %s (%s)\n", res.Action, res.Mode, res.Dir, progList(res.Programs))
		if res.Action != loader.Unchanged && mode == bpf.ModeWrite {
			fmt.Fprintln(e.stdout, "note: the kernel logs a warning for programs that use bpf_probe_write_user (\"... is installing a program with bpf_probe_write_user helper that may corrupt user memory!\"); it is expected")
		}
		return nil
	case "remove":
		removed, err := bpf.Remove(*dir)
		if err != nil {
			return fmt.Errorf("remove: %w", err)
		}
		if *asJSON {
			return writeJSON(e.stdout, map[string]any{"dir": *dir, "removed": nonNil(removed)})
		}
		if len(removed) == 0 {
			fmt.Fprintf(e.stdout, "nothing installed under %s\n", *dir)
			return nil
		}
		fmt.Fprintf(e.stdout, "removed from %s: %s (masked processes and cgroups are no longer masked at their next exec)\n", *dir, strings.Join(removed, " "))
		return nil
	case "gc":
		b, err := bpf.Open(*dir)
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		defer b.Close()
		gone, err := b.GC()
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		if *asJSON {
			if gone == nil {
				gone = []uint64{}
			}
			return writeJSON(e.stdout, map[string]any{"removed": gone})
		}
		fmt.Fprintf(e.stdout, "removed %d stale cgroup entr%s\n", len(gone), map[bool]string{true: "y", false: "ies"}[len(gone) == 1])
		return nil
	case "status":
		st, err := bpf.GetStatus(*dir)
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		if *asJSON {
			return writeJSON(e.stdout, st)
		}
		printBPFStatus(e, st)
		return nil
	}
	return usagef("bpf: unknown subcommand %q (want install, remove, status or gc)", sub)
}

func progList(progs map[string]string) string {
	var parts []string
	for name, tag := range progs {
		parts = append(parts, name+" tag "+tag)
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func printBPFStatus(e *env, st *bpf.Status) {
	w := e.stdout
	state := "not installed"
	if st.Installed {
		state = "installed, " + string(st.Mode) + " mode"
	}
	fmt.Fprintf(w, "backend:  %s (%s)\n", state, st.Dir)
	fmt.Fprintf(w, "kernel:   %s, lockdown %s, BTF %s\n", st.Kernel, st.Lockdown, map[bool]string{true: "yes", false: "no"}[st.BTF])
	if st.Problem != "" {
		fmt.Fprintf(w, "problem:  %s\n", st.Problem)
	}
	for _, p := range st.Programs {
		fmt.Fprintf(w, "program:  %s id %d tag %s (link %s)\n", p.Name, p.ID, p.Tag, p.Link)
	}
	if len(st.Pinned) > 0 {
		fmt.Fprintf(w, "pinned:   %s\n", strings.Join(st.Pinned, " "))
	}
	if !st.Installed {
		return
	}
	fmt.Fprintf(w, "tasks:    %d masked\n", len(st.Tasks))
	for _, t := range st.Tasks {
		fmt.Fprintf(w, "  pid %d (%s) %s\n", t.PID, t.Comm, t.Mask)
	}
	fmt.Fprintf(w, "cgroups:  %d masked\n", len(st.Cgroups))
	for _, c := range st.Cgroups {
		where := c.Path
		if c.Stale {
			where = "(gone: hwcapctl bpf gc removes it)"
		}
		fmt.Fprintf(w, "  id %d %s %s\n", c.ID, where, c.Mask)
	}
	var names []string
	for _, n := range bpf.StatNames {
		names = append(names, fmt.Sprintf("%s=%d", n, st.Stats[n]))
	}
	fmt.Fprintf(w, "counters: %s\n", strings.Join(names, " "))
}

const bpfUsage = `Usage: hwcapctl bpf install [--dry-run] | remove | status | gc   [--dir DIR] [--json]
  The eBPF backend: masks on kernels without the HWCAP inheritance series.
  install   load the programs and pin them, their links and maps under DIR
            (idempotent; an upgrade keeps the maps and replaces the programs
            without a moment where masked processes exec unmasked).
            --dry-run: the variant without bpf_probe_write_user, which loads
            under kernel lockdown and only counts and records
  remove    detach the programs and remove everything pinned under DIR
  status    what is pinned, kernel, lockdown, masked tasks and cgroups, counters
  gc        drop the entries of cgroups that no longer exist
  DIR: $HWCAP_BPF_DIR, else /sys/fs/bpf/hwcap.
`
