package wrapper

import (
	"strings"
)

// Command names the wrapper acts on; every other command is passed through.
const (
	CmdCreate  = "create"
	CmdRun     = "run"
	CmdRestore = "restore"
	CmdExec    = "exec"
	CmdDelete  = "delete"
)

// passCommands are runc's and crun's other commands: the wrapper passes
// them through unchanged, and so does the C front end (rules.h).
var passCommands = []string{
	"checkpoint", "events", "features", "kill", "list", "mounts", "pause",
	"ps", "resume", "spec", "start", "state", "update",
}

// knownCommands are all runc's and crun's commands (help and h print
// help), used only to tell an unknown global option's value from the
// command that follows it.
var knownCommands = func() map[string]bool {
	m := map[string]bool{CmdCreate: true, CmdRun: true, CmdRestore: true, CmdExec: true, CmdDelete: true, "help": true, "h": true}
	for _, c := range passCommands {
		m[c] = true
	}
	return m
}()

// Invocation is what the wrapper understood of its argv. The real runtime
// gets exactly these bytes, except a --bundle value that names the bundle
// through a symlink or "..": that one becomes the directory's physical
// path (SetBundle), the one the wrapper read the config from.
type Invocation struct {
	Args []string // argv[1:] as given

	// Global options (last occurrence wins, as in runc and crun).
	Root      string
	Log       string
	LogFormat string

	// CommandIndex is the index in Args of the command, -1 if none.
	CommandIndex int
	Command      string

	// Help is true when a --help/--version style option makes the runtime
	// print something and exit without acting.
	Help bool

	// For create, run and restore: the bundle as given ("" = current
	// directory) and crun's --config file name ("" = config.json).
	Bundle     string
	ConfigName string
	// bundleAt is the index in Args of the token that holds the last
	// --bundle value (-1: none), bundlePre what precedes the value in it
	// ("--bundle=", "-b" or "").
	bundleAt  int
	bundlePre string
	// For restore: the last --image-path as given ("" = none).
	ImagePath string
	// Detach: run or restore with --detach (-d): the runtime returns once
	// the container runs.
	Detach bool

	// IDs are the container ids found: create/run/restore/exec have one,
	// delete may have several.
	IDs []string
}

// ID returns the container id, or "" if none was found.
func (inv *Invocation) ID() string {
	if len(inv.IDs) == 0 {
		return ""
	}
	return inv.IDs[len(inv.IDs)-1]
}

// NeedsMask reports whether the command starts processes in a container.
func (inv *Invocation) NeedsMask() bool {
	if inv.Help {
		return false
	}
	switch inv.Command {
	case CmdCreate, CmdRun, CmdRestore, CmdExec:
		return true
	}
	return false
}

// SetBundle replaces the value of the --bundle option that Bundle came
// from with dir (Args is copied, not changed in place).
func (inv *Invocation) SetBundle(dir string) {
	if inv.bundleAt < 0 || inv.bundleAt >= len(inv.Args) {
		return
	}
	args := append([]string(nil), inv.Args...)
	args[inv.bundleAt] = inv.bundlePre + dir
	inv.Args, inv.Bundle = args, dir
}

// parsedFlag is one option occurrence.
type parsedFlag struct {
	spec  flagSpec
	value string
	at    int    // index of the token holding the value (-1: none)
	pre   string // what precedes the value in that token
}

// scan is the result of reading options from a token list.
type scan struct {
	flags       []parsedFlag
	positionals []string
	stop        int // in-order: index of the first positional (len if none)
	help        bool
}

// scanFlags reads options from toks with table t. In order (runc's global
// options, runc exec with SkipArgReorder, crun's ARGP_IN_ORDER), it stops
// at the first positional; otherwise (urfave/cli's reordering, argp's
// permutation) options and positionals may be mixed until "--".
// guessValue enables the unknown-option heuristic of the global options.
func scanFlags(toks []string, t flagTable, inOrder, guessValue bool) scan {
	s := scan{stop: len(toks)}
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		switch {
		case tok == "--":
			if inOrder {
				s.stop = i + 1
				return s
			}
			s.positionals = append(s.positionals, toks[i+1:]...)
			return s
		case tok == "-" || !strings.HasPrefix(tok, "-"):
			if inOrder {
				s.stop = i
				return s
			}
			s.positionals = append(s.positionals, tok)
			continue
		}
		// take returns the value of an option that needs one, and where
		// it is.
		take := func(inline string, has bool) (string, int, string) {
			if has {
				return inline, i, tok[:len(tok)-len(inline)]
			}
			if i+1 < len(toks) {
				i++
				return toks[i], i, ""
			}
			return "", -1, ""
		}
		var body string
		long := strings.HasPrefix(tok, "--")
		if long {
			body = tok[2:]
		} else {
			body = tok[1:]
		}
		name, inline, hasEq := strings.Cut(body, "=")
		var spec flagSpec
		var ok bool
		if long {
			spec, ok = t.byLong(name)
		} else {
			// urfave/cli: -name and -name=value are the long option.
			spec, ok = t.exact(name)
		}
		if ok {
			f := parsedFlag{spec: spec, at: -1}
			if spec.value {
				f.value, f.at, f.pre = take(inline, hasEq)
			} else if hasEq {
				f.value = inline
			}
			s.flags = append(s.flags, f)
			s.help = s.help || spec.help
			continue
		}
		if !long && s.cluster(body, t, take) {
			continue
		}
		// An unknown option: with no '=', guess whether the next token is
		// its value. The command that follows is never a value.
		if guessValue && !hasEq && i+1 < len(toks) {
			next := toks[i+1]
			if !strings.HasPrefix(next, "-") && !knownCommands[next] {
				i++
			}
		}
	}
	return s
}

// cluster reads argp's grouped short options ("-dt", "-bDIR", "-db DIR").
// It returns false, consuming nothing, if any letter is unknown.
func (s *scan) cluster(body string, t flagTable, take func(string, bool) (string, int, string)) bool {
	for j := 0; j < len(body); j++ {
		spec, ok := t.byShort(body[j])
		if !ok {
			return false
		}
		if spec.value {
			break
		}
	}
	for j := 0; j < len(body); j++ {
		spec, _ := t.byShort(body[j])
		f := parsedFlag{spec: spec, at: -1}
		if spec.value {
			rest := body[j+1:]
			f.value, f.at, f.pre = take(rest, rest != "")
			s.flags = append(s.flags, f)
			s.help = s.help || spec.help
			return true
		}
		s.flags = append(s.flags, f)
		s.help = s.help || spec.help
	}
	return true
}

// exact finds a flag by an exact long or one-letter short name.
func (t flagTable) exact(name string) (flagSpec, bool) {
	for _, f := range t {
		for _, l := range f.long {
			if l == name {
				return f, true
			}
		}
		if len(name) == 1 && f.short == name[0] {
			return f, true
		}
	}
	return flagSpec{}, false
}

// Parse reads argv[1:] the way runc (urfave/cli v1) and crun (argp) do.
// It never fails: what it cannot understand the real runtime will reject,
// and every doubtful case is resolved towards masking, never away from it.
func Parse(args []string) *Invocation {
	inv := &Invocation{Args: args, CommandIndex: -1, bundleAt: -1}
	g := scanFlags(args, globalFlags, true, true)
	inv.Help = g.help
	for _, f := range g.flags {
		switch f.spec.name() {
		case "root":
			inv.Root = f.value
		case "log":
			inv.Log = f.value
		case "log-format":
			inv.LogFormat = f.value
		}
	}
	if g.stop >= len(args) {
		return inv
	}
	inv.CommandIndex = g.stop
	inv.Command = args[g.stop]
	rest := args[g.stop+1:]

	var c scan
	switch inv.Command {
	case CmdCreate:
		c = scanFlags(rest, createFlags, false, false)
	case CmdRun:
		c = scanFlags(rest, runFlags, false, false)
	case CmdRestore:
		c = scanFlags(rest, restoreFlags, false, false)
	case CmdDelete:
		c = scanFlags(rest, deleteFlags, false, false)
	case CmdExec:
		c = scanFlags(rest, execFlags, true, false)
		if c.stop < len(rest) {
			c.positionals = rest[c.stop : c.stop+1]
		}
	default:
		return inv
	}
	inv.Help = inv.Help || c.help
	inv.IDs = c.positionals
	for _, f := range c.flags {
		switch f.spec.name() {
		case "bundle":
			inv.Bundle = f.value
			inv.bundleAt, inv.bundlePre = -1, ""
			if f.at >= 0 {
				inv.bundleAt, inv.bundlePre = g.stop+1+f.at, f.pre
			}
		case "config":
			inv.ConfigName = f.value
		case "image-path":
			inv.ImagePath = f.value
		case "detach":
			inv.Detach = f.value != "false" && f.value != "0"
		}
	}
	return inv
}
