package ctl

import (
	"fmt"

	"github.com/hwcap/hwcap/internal/node"
)

func runFeatures(e *env, args []string) error {
	fs := newFlags(e, "features")
	asJSON := fs.Bool("json", false, "print the node description (the input of baseline, check and nfd --host)")
	from := fs.String("from", "", "describe the node in `FILE` (a /proc/cpuinfo capture, node description or profile) instead of this host")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (features takes no arguments; use --from FILE)", pos[0])
	}
	n, err := nodeOrHost(e, *from)
	if err != nil {
		return err
	}
	if *asJSON {
		return n.Encode(e.stdout)
	}
	t, err := n.Table()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "source:   %s\n", n.Source)
	if n.Hostname != "" {
		fmt.Fprintf(e.stdout, "hostname: %s\n", n.Hostname)
	}
	fmt.Fprintf(e.stdout, "arch:     %s\n", n.Arch)
	if n.Kernel != "" {
		fmt.Fprintf(e.stdout, "kernel:   %s\n", n.Kernel)
	}
	if n.Model != "" {
		fmt.Fprintf(e.stdout, "model:    %s\n", n.Model)
	}
	fmt.Fprintf(e.stdout, "features: %d\n", len(n.Names()))
	printWords(e.stdout, t, n.Words, "  ")
	return nil
}

// nodeOrHost describes the node in file (anything baseline reads, with a
// warning for names this build does not know), or this host when file is
// empty.
func nodeOrHost(e *env, file string) (*node.Node, error) {
	if file == "" {
		return node.Host()
	}
	ns, err := readInputs(e, []string{file})
	if err != nil {
		return nil, err
	}
	warnUnknown(e, ns[0])
	return ns[0], nil
}
