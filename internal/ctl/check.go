package ctl

import (
	"fmt"

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
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (want --profile P [--host FILE])", pos[0])
	}
	if *prof == "" {
		return usagef("--profile is required (a profile file, e.g. from hwcapctl baseline)")
	}
	if *prof == "-" && *hostFile == "-" {
		return usagef("--profile and --host cannot both read stdin")
	}
	wants, err := readInputs(e, []string{*prof})
	if err != nil {
		return err
	}
	want := wants[0]
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
