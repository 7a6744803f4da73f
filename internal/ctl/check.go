package ctl

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/hwcap/hwcap/internal/node"
)

type checkReport struct {
	Verdict  string   `json:"verdict"`
	Profile  string   `json:"profile"`
	Host     string   `json:"host"`
	Arch     string   `json:"arch"`
	HostArch string   `json:"hostArch"`
	Blocking []string `json:"blocking"`
	Extra    []string `json:"extra"`
}

func runCheck(e *env, args []string) error {
	fs := newFlags(e, "check")
	prof := fs.String("profile", "", "the profile `P` the container uses (or any input baseline takes: the node it was checkpointed on)")
	hostFile := fs.String("host", "", "check the node described in `FILE` instead of this host")
	var nodesFiles stringList
	fs.Var(&nodesFiles, "nodes", "check every node in `FILE` (kubectl get nodes -o json, or anything baseline reads; repeatable): can all of them run it")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (want --profile P [--host FILE | --nodes FILE...])", pos[0])
	}
	if *prof == "" {
		return usagef("--profile is required (a profile file, e.g. from hwcapctl baseline)")
	}
	if *hostFile != "" && len(nodesFiles) > 0 {
		return usagef("--host and --nodes exclude each other (--host: one node; --nodes: all of several)")
	}
	if *prof == "-" && (*hostFile == "-" || slices.Contains(nodesFiles, "-")) {
		return usagef("--profile and --host/--nodes cannot both read stdin")
	}
	wants, err := readInputs(e, []string{*prof})
	if err != nil {
		return err
	}
	want := wants[0]
	if len(nodesFiles) > 0 {
		return checkNodes(e, want, nodesFiles, *asJSON)
	}
	var host *node.Node
	if *hostFile != "" {
		hs, err := readInputs(e, []string{*hostFile})
		if err != nil {
			return err
		}
		host = hs[0]
	} else if host, err = node.Host(); err != nil {
		return err
	}
	warnUnknown(e, want, host)
	c, err := node.Compare(want, host)
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeJSON(e.stdout, checkReport{Verdict: c.Verdict, Profile: want.Source, Host: host.Source,
			Arch: c.Arch, HostArch: c.HostArch, Blocking: nonNil(c.Blocking), Extra: nonNil(c.Extra)})
	} else {
		err = printCheck(e, c, want, host)
	}
	if err != nil {
		return err
	}
	if !c.Compatible() {
		return errIncompatible
	}
	return nil
}

func printCheck(e *env, c *node.Comparison, want, host *node.Node) error {
	w := e.stdout
	switch {
	case c.Arch != c.HostArch:
		fmt.Fprintf(w, "%s: %s is for %s, %s is %s\n", c.Verdict, want.Source, c.Arch, host.Label(), c.HostArch)
	case c.Verdict == node.Incompatible:
		fmt.Fprintf(w, "%s: %s lacks %d feature(s) that %s allows: %s\n", c.Verdict, host.Label(), len(c.Blocking), want.Source, list(c.Blocking))
		fmt.Fprintf(w, "  a process that uses them gets SIGILL there; rebuild the profile with hwcapctl baseline over all target nodes, including this one\n")
	case c.Verdict == node.Superset:
		fmt.Fprintf(w, "%s: %s has every feature %s allows, and %d more the mask hides: %s\n", c.Verdict, host.Label(), want.Source, len(c.Extra), list(c.Extra))
	default:
		fmt.Fprintf(w, "%s: %s has exactly the features %s allows\n", c.Verdict, host.Label(), want.Source)
	}
	return nil
}

// checkNodesReport is check --nodes --json.
type checkNodesReport struct {
	Profile string        `json:"profile"`
	Arch    string        `json:"arch"`
	Capable int           `json:"capable"`
	Nodes   []nodeVerdict `json:"nodes"`
}

// checkNodes answers "can every one of these nodes run profile want":
// one verdict per node; exit 0 only when all can (a profile meant for a
// fleet that one node cannot run is the failure this catches).
func checkNodes(e *env, want *node.Node, files []string, asJSON bool) error {
	nodes, err := readAllInputs(e, files)
	if err != nil {
		return err
	}
	warnUnknown(e, append([]*node.Node{want}, nodes...)...)
	rep := checkNodesReport{Profile: want.Source, Arch: want.Arch, Nodes: []nodeVerdict{}}
	for _, n := range nodes {
		c, err := node.Compare(want, n)
		if err != nil {
			return err
		}
		if c.Compatible() {
			rep.Capable++
		}
		rep.Nodes = append(rep.Nodes, newNodeVerdict(n, c.Verdict, c.Blocking, c.Arch, c.HostArch))
	}
	if asJSON {
		err = writeJSON(e.stdout, rep)
	} else {
		fmt.Fprintf(e.stdout, "profile %s (%s)\n", want.Source, want.Arch)
		printVerdicts(e.stdout, rep.Nodes)
		fmt.Fprintf(e.stdout, "runs on %d of %d node(s)\n", rep.Capable, len(rep.Nodes))
	}
	if err != nil {
		return err
	}
	if rep.Capable < len(rep.Nodes) {
		return errIncompatible
	}
	return nil
}

// nodeVerdict is one node's line of check --nodes and check-image --nodes.
type nodeVerdict struct {
	Node     string   `json:"node"`
	Verdict  string   `json:"verdict"`
	Blocking []string `json:"blocking"`
}

// newNodeVerdict names what node n lacks; another architecture is
// "arch ARCH".
func newNodeVerdict(n *node.Node, verdict string, blocking []string, arch, hostArch string) nodeVerdict {
	if arch != hostArch {
		blocking = []string{"arch " + hostArch}
	}
	return nodeVerdict{Node: n.Label(), Verdict: verdict, Blocking: nonNil(blocking)}
}

func printVerdicts(w io.Writer, vs []nodeVerdict) {
	for _, v := range vs {
		line := fmt.Sprintf("  %-12s %s", v.Verdict, v.Node)
		if len(v.Blocking) > 0 {
			line += " (lacks " + strings.Join(v.Blocking, " ") + ")"
		}
		fmt.Fprintln(w, line)
	}
}
