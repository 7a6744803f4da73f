package ctl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hwcap/hwcap/internal/criuimg"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/logging"
	"github.com/hwcap/hwcap/internal/nfd"
	"github.com/hwcap/hwcap/internal/node"
	"github.com/hwcap/hwcap/internal/version"
)

// Exit codes.
const (
	ExitOK    = 0 // success; compatible
	ExitFail  = 1 // incompatible; check or operation failed
	ExitUsage = 2 // usage error or bad input
)

// ErrUsage marks command-line mistakes (exit 2).
var ErrUsage = errors.New("usage")

// errIncompatible is returned by check after printing its verdict: exit 1
// without an extra error line.
var errIncompatible = errors.New("incompatible")

// env is what a command may touch besides the system.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name, args, help string
	run              func(e *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"features", "[--from FILE] [--json]", "this host's HWCAP features per AT_HWCAPn, arch, kernel, CPU model", runFeatures},
		{"probe", "[--dir DIR] [--fresh] [--json]", "kernel support per prctl path, capabilities held, probe cache state", runProbe},
		{"baseline", "FILE... [-o PROFILE] [--description TEXT] [--json]", "the features every input node has, as a profile", runBaseline},
		{"check", "--profile P [--host FILE | --nodes FILE...] [--json]", "can this host (or FILE) run a container with profile P: identical / superset / incompatible; with --nodes, can all of those nodes (kubectl get nodes -o json)", runCheck},
		{"check-image", "DIR|ARCHIVE [--host FILE | --nodes FILE...] [--json]", "can this host (or FILE) restore a CRIU checkpoint (image directory, or tar/tar.gz/tar.zst archive from podman --export or the kubelet): identical / superset / incompatible per task; with --nodes, which of those nodes (kubectl get nodes -o json) can", runCheckImage},
		{"inspect", "PID | --container ID [--runtime runc|crun] [--root DIR] [--json]", "a running process's HWCAP words against the host's", runInspect},
		{"explain", "MASK|PROFILE [--arch ARCH | --host FILE] [--json]", "what a mask or profile hides, and which hidden features weaken security", runExplain},
		{"nfd", "[--dir DIR] [--file NAME] [--profiles DIR] [--prefix NS] [--expiry DUR] [--installed] [--no-probe] [--host FILE] [--stdout] [--json]", "write the node-feature-discovery feature file", runNFD},
		{"bpf", "install [--dry-run] | remove | status | gc [--dir DIR] [--json]", "the eBPF backend for kernels without the HWCAP inheritance series: install, remove, status, gc of stale cgroup entries", runBPF},
		{"version", "", "print the version", runVersion},
	}
}

// Main runs hwcapctl with args (without the program name) and returns the
// exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	return mainEnv(&env{stdin: os.Stdin, stdout: stdout, stderr: stderr}, args)
}

func mainEnv(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return ExitUsage
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(e.stdout)
		return ExitOK
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(e, args[1:])
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case errors.Is(err, errIncompatible):
			return ExitFail
		}
		fmt.Fprintf(e.stderr, "hwcapctl %s: %s\n", name, oneLine(err.Error()))
		return exitCode(err)
	}
	fmt.Fprintf(e.stderr, "hwcapctl: unknown command %q (want one of %s; see hwcapctl --help)\n", name, commandNames())
	return ExitUsage
}

// exitCode maps an error to 2 for bad usage or input, else 1.
func exitCode(err error) int {
	for _, bad := range []error{ErrUsage, node.ErrBadInput, node.ErrMixedArch, node.ErrNoInput,
		hwcap.ErrBadMask, hwcap.ErrBadProfile, hwcap.ErrUnknownFeature, hwcap.ErrUnknownArch,
		hwcap.ErrConflict, nfd.ErrBadLabel,
		criuimg.ErrBadImage, criuimg.ErrNotCheckpoint, criuimg.ErrBadArchive, criuimg.ErrTooLarge} {
		if errors.Is(err, bad) {
			return ExitUsage
		}
	}
	return ExitFail
}

// oneLine is logging.OneLine: error text may quote a container's bytes
// (ids, a runtime's error output, names inside a checkpoint image).
func oneLine(s string) string { return logging.OneLine(s) }

func commandNames() string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "hwcapctl %s: fleet tool for hwcap (CPU feature masks for containers)\n\nUsage:\n", version.Version)
	for _, c := range commands {
		fmt.Fprintf(w, "  hwcapctl %s %s\n      %s\n", c.name, c.args, c.help)
	}
	fmt.Fprint(w, "\nExit codes: 0 ok or compatible, 1 incompatible or failed, 2 usage or bad input.\n")
}

// newFlags returns a flag set that reports errors as ErrUsage and prints
// its usage to stderr.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("hwcapctl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// flag calls Usage on every parse error; parse prints help only for -h.
	fs.Usage = func() {}
	return fs
}

// printHelp prints a command's usage and flags to stdout.
func printHelp(e *env, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "hwcapctl ")
	for _, c := range commands {
		if c.name == name {
			func() {
				fmt.Fprintf(e.stdout, "Usage: hwcapctl %s %s\n  %s\n\nFlags:\n", c.name, c.args, c.help)
				fs.SetOutput(e.stdout)
				fs.PrintDefaults()
				fs.SetOutput(io.Discard)
			}()
		}
	}
}

// parse parses flags anywhere among the arguments ("baseline a b -o p"
// works); everything after "--" is positional. It returns the positional
// arguments.
func parse(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printHelp(e, fs)
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w (see hwcapctl %s --help)", ErrUsage, err, strings.TrimPrefix(fs.Name(), "hwcapctl "))
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func usagef(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, a...))
}

func runVersion(e *env, args []string) error {
	fs := newFlags(e, "version")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	fmt.Fprintln(e.stdout, version.Version)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	*l = append(*l, v)
	return nil
}
