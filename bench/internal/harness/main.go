package harness

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Main runs the benchmark suite with command-line args and returns the
// exit code: 0 when everything ran (targets missed or not), 1 when a run
// failed, 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hwcapbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 50, "pairs per `runc run` and `state` case")
	nExec := fs.Int("n-exec", 200, "pairs per component-on-its-own case")
	warmup := fs.Int("warmup", 3, "unrecorded pairs before each case")
	bin := fs.String("bin", "bin", "directory of the built binaries (make build)")
	rt := fs.String("runtime", "runc", "the runc binary")
	goBench := fs.String("gobench", "", "file with `go test -bench -benchmem` output to include")
	jsonOut := fs.String("json", "bench/results/latest.json", "where to write the JSON report (\"\" = nowhere)")
	mdOut := fs.String("md", "", "also write the Markdown tables to this file")
	groups := fs.String("groups", "run,state,exec", "which case groups to run (run, state, exec; build needs -baseline-bin)")
	baseBin := fs.String("baseline-bin", "", "a baseline build's bin directory: adds the build group (this build vs that one)")
	only := fs.String("only", "", "run only cases whose key contains this string")
	keep := fs.Bool("keep", false, "keep the scratch directory")
	command := fs.String("command", "make bench", "the command line recorded in the report")
	nice := fs.String("nice", os.Getenv("BENCH_NICE"), "how the run was niced, for the report")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 || *nExec < 1 || *warmup < 0 {
		fmt.Fprintln(stderr, "hwcapbench: -n and -n-exec must be at least 1, -warmup at least 0")
		return 2
	}
	want := map[string]bool{}
	for _, g := range strings.Split(*groups, ",") {
		switch g = strings.TrimSpace(g); g {
		case GroupRun, GroupState, GroupExec, GroupBuild:
			want[g] = true
		case "":
		default:
			fmt.Fprintf(stderr, "hwcapbench: -groups: unknown group %q (want run, state, exec, build)\n", g)
			return 2
		}
	}
	if *baseBin != "" {
		want[GroupBuild] = true
	} else if want[GroupBuild] {
		fmt.Fprintln(stderr, "hwcapbench: -groups build needs -baseline-bin DIR")
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "hwcapbench: needs root to run runc containers (sudo make bench)")
		return 1
	}
	start := time.Now()
	env, err := Setup(Options{BinDir: *bin, Runtime: *rt, Keep: *keep, Log: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "hwcapbench: setup: %v\n", err)
		return 1
	}
	defer env.Close()
	// An interrupted run must not leave a created container behind.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			fmt.Fprintln(stderr, "hwcapbench: interrupted; cleaning up")
			env.Close()
			os.Exit(130)
		}
	}()
	rep := &Report{Date: Now(), Command: *command, Machine: DescribeMachine(env.Runc), Payload: env.Payload, Feature: env.Feature, Nice: *nice}
	fmt.Fprintf(stderr, "hwcapbench: %d CPUs, %s, kernel %s, %s; load %s; scratch %s\n",
		rep.Machine.NProc, rep.Machine.CPU, rep.Machine.Kernel, rep.Machine.Runc, rep.Machine.LoadStart, env.Dir)

	rep.BaselineBin = *baseBin
	if err := runGroups(env, rep, want, *only, *baseBin, *n, *nExec, *warmup, stderr); err != nil {
		fmt.Fprintf(stderr, "hwcapbench: %v\n", err)
		return 1
	}
	if *goBench != "" {
		f, err := os.Open(*goBench)
		if err != nil {
			fmt.Fprintf(stderr, "hwcapbench: -gobench: %v\n", err)
			return 1
		}
		rep.GoBench, err = ParseGoBench(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "hwcapbench: -gobench %s: %v\n", *goBench, err)
			return 1
		}
	}
	if rep.Sizes, err = BinarySizes(*bin); err != nil {
		fmt.Fprintf(stderr, "hwcapbench: binary sizes: %v\n", err)
		return 1
	}
	rep.Machine.LoadEnd = LoadAvg()
	rep.Duration = time.Since(start).Round(time.Second).String()
	rep.EvalTargets()
	rep.Markdown(stdout)
	if *mdOut != "" {
		f, err := os.Create(*mdOut)
		if err == nil {
			rep.Markdown(f)
			err = f.Close()
		}
		if err != nil {
			fmt.Fprintf(stderr, "hwcapbench: -md: %v\n", err)
			return 1
		}
	}
	if *jsonOut != "" {
		if err := rep.WriteJSON(*jsonOut); err != nil {
			fmt.Fprintf(stderr, "hwcapbench: -json: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "hwcapbench: wrote %s\n", *jsonOut)
	}
	return 0
}

func runGroups(env *Env, rep *Report, want map[string]bool, only, baseBin string, n, nExec, warmup int, progress io.Writer) error {
	var cases []Case
	var pairs []int
	add := func(cs []Case, k int) {
		for _, c := range cs {
			if only == "" || strings.Contains(c.Key, only) {
				cases = append(cases, c)
				pairs = append(pairs, k)
			}
		}
	}
	if want[GroupRun] {
		add(env.RunCases(), n)
	}
	if want[GroupState] || want[GroupExec] {
		id, pid, err := env.StateContainer()
		if err != nil {
			return fmt.Errorf("create the container for state and hooks: %w", err)
		}
		if want[GroupState] {
			add(env.StateCases(id), n)
		}
		if want[GroupExec] {
			add(env.ExecCases(pid), nExec)
		}
	}
	if want[GroupBuild] {
		cs, err := env.BuildCases(baseBin)
		if err != nil {
			return err
		}
		add(cs, nExec)
	}
	if len(cases) == 0 {
		return errors.New("no case selected (see -groups and -only)")
	}
	for i, c := range cases {
		fmt.Fprintf(progress, "[%d/%d] %s vs %s\n", i+1, len(cases), c.Name, c.Baseline)
		r, err := Measure(c, pairs[i], warmup, progress)
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, r)
	}
	return nil
}
