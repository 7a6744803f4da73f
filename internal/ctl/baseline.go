package ctl

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hwcap/hwcap/internal/atomicfile"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/node"
)

type baselineLack struct {
	Source  string   `json:"source"`
	Model   string   `json:"model,omitempty"`
	Missing []string `json:"missing"`
}

type baselineReport struct {
	Arch    string         `json:"arch"`
	Nodes   []string       `json:"nodes"`
	Common  []string       `json:"common"`
	Dropped []string       `json:"dropped"` // in some node but not all
	Lacks   []baselineLack `json:"lacks"`
	Output  string         `json:"output,omitempty"`
	Profile *hwcap.Profile `json:"profile"`
}

func runBaseline(e *env, args []string) error {
	fs := newFlags(e, "baseline")
	out := fs.String("o", "", "write the profile to `PROFILE` (atomically) instead of stdout")
	desc := fs.String("description", "", "profile description (default: the inputs' names)")
	asJSON := fs.Bool("json", false, "print a JSON report (profile, common and dropped features, per-node lacks) on stdout")
	files, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("no input files (want one or more /proc/cpuinfo captures, `hwcapctl features --json` files, profiles or `kubectl get nodes -o json` output)")
	}
	if *out != "" {
		if err := checkOutput(*out); err != nil {
			return err
		}
	}
	nodes, err := readAllInputs(e, files)
	if err != nil {
		return err
	}
	warnUnknown(e, nodes...)
	r, err := node.Baseline(nodes)
	if err != nil {
		return err
	}
	t, err := hwcap.Lookup(r.Arch)
	if err != nil {
		return err
	}
	d := *desc
	if d == "" {
		var labels []string
		for _, n := range nodes {
			labels = append(labels, n.Label())
		}
		d = "baseline of " + strings.Join(labels, ", ")
		if len(d) > 1024 {
			d = d[:1021] + "..."
		}
	}
	p := hwcap.NewProfile(t, r.Common, d)
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		return err
	}

	// The summary goes to stderr so stdout stays the profile.
	fmt.Fprintf(e.stderr, "baseline of %d %s node(s): %d common feature(s), %d dropped\n", len(nodes), r.Arch, r.Common.Count(), r.Union.AndNot(r.Common).Count())
	for _, l := range r.Lacks {
		fmt.Fprintf(e.stderr, "  %s lacks: %s\n", l.Node.Label(), strings.Join(l.Missing, " "))
	}

	if *out != "" {
		if err := atomicfile.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", *out)
	}
	if *asJSON {
		rep := baselineReport{Arch: r.Arch, Common: nonNil(t.Names(r.Common)), Dropped: nonNil(t.Names(r.Union.AndNot(r.Common))),
			Lacks: []baselineLack{}, Output: *out, Profile: p}
		for _, n := range nodes {
			rep.Nodes = append(rep.Nodes, n.Source)
		}
		for _, l := range r.Lacks {
			rep.Lacks = append(rep.Lacks, baselineLack{Source: l.Node.Source, Model: l.Node.Model, Missing: l.Missing})
		}
		return writeJSON(e.stdout, rep)
	}
	if *out == "" {
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	return nil
}
