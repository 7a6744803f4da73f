package wrapper

import "strings"

// flagSpec describes one option of runc (urfave/cli v1) or crun (argp).
// The tables below are the union of both runtimes' options, so that the
// wrapper parses an argv the way whichever of them runs next will.
type flagSpec struct {
	long  []string // long names, without dashes
	short byte     // argp/urfave short name, 0 if none
	value bool     // takes a value (separate token unless given with '=')
	help  bool     // --help, --version, --usage: the runtime prints and exits
}

type flagTable []flagSpec

// globalFlags are the options before the command: runc 1.1-1.4 and crun 1.x.
var globalFlags = flagTable{
	{long: []string{"debug"}},
	{long: []string{"log"}, value: true},
	{long: []string{"log-format"}, value: true},
	{long: []string{"log-level"}, value: true}, // crun >= 1.9
	{long: []string{"root"}, value: true},
	{long: []string{"criu"}, value: true}, // runc < 1.2
	{long: []string{"systemd-cgroup"}},
	{long: []string{"rootless"}, value: true},
	{long: []string{"cgroup-manager"}, value: true}, // crun
	{long: []string{"help"}, short: 'h', help: true},
	{long: []string{"usage"}, short: '?', help: true},
	{long: []string{"version"}, short: 'v', help: true},
	{short: 'V', help: true}, // crun's -V
}

// createFlags are the options of create; run and restore extend them.
var createFlags = flagTable{
	{long: []string{"bundle"}, short: 'b', value: true},
	{long: []string{"config"}, short: 'f', value: true}, // crun: config file name inside the bundle
	{long: []string{"console-socket"}, value: true},
	{long: []string{"pidfd-socket"}, value: true}, // runc >= 1.2
	{long: []string{"pid-file"}, value: true},
	{long: []string{"no-pivot"}},
	{long: []string{"no-new-keyring"}},
	{long: []string{"no-subreaper"}},
	{long: []string{"preserve-fds"}, value: true},
	{long: []string{"help"}, short: 'h', help: true},
	{long: []string{"usage"}, short: '?', help: true},
}

var runFlags = append(flagTable{
	{long: []string{"detach"}, short: 'd'},
	{long: []string{"keep"}},
}, createFlags...)

var restoreFlags = append(flagTable{
	{long: []string{"image-path"}, value: true},
	{long: []string{"work-path"}, value: true},
	{long: []string{"parent-path"}, value: true},
	{long: []string{"tcp-established"}},
	{long: []string{"tcp-skip-in-flight"}},
	{long: []string{"link-remap"}},
	{long: []string{"ext-unix-sk"}},
	{long: []string{"shell-job"}},
	{long: []string{"file-locks"}},
	{long: []string{"manage-cgroups-mode"}, value: true},
	{long: []string{"detach"}, short: 'd'},
	{long: []string{"keep"}},
	{long: []string{"empty-ns"}, value: true},
	{long: []string{"auto-dedup"}},
	{long: []string{"lazy-pages"}},
	{long: []string{"lsm-profile"}, value: true},
	{long: []string{"lsm-mount-context"}, value: true},
}, createFlags...)

var execFlags = flagTable{
	{long: []string{"console-socket"}, value: true},
	{long: []string{"pidfd-socket"}, value: true},
	{long: []string{"cwd"}, value: true},
	{long: []string{"env"}, short: 'e', value: true},
	{long: []string{"tty"}, short: 't'}, // crun: --tty[=TTY], optional value only with '='
	{long: []string{"user"}, short: 'u', value: true},
	{long: []string{"additional-gids"}, short: 'g', value: true},
	{long: []string{"process"}, short: 'p', value: true},
	{long: []string{"detach"}, short: 'd'},
	{long: []string{"pid-file"}, value: true},
	{long: []string{"process-label"}, value: true},
	{long: []string{"apparmor"}, value: true},
	{long: []string{"no-new-privs"}},
	{long: []string{"cap"}, short: 'c', value: true},
	{long: []string{"preserve-fds"}, value: true},
	{long: []string{"cgroup"}, value: true},
	{long: []string{"ignore-paused"}},
	{long: []string{"help"}, short: 'h', help: true},
	{long: []string{"usage"}, short: '?', help: true},
}

var deleteFlags = flagTable{
	{long: []string{"force"}, short: 'f'},
	{long: []string{"all"}, short: 'a'},                // crun
	{long: []string{"regex"}, short: 'r', value: true}, // crun
	{long: []string{"help"}, short: 'h', help: true},
	{long: []string{"usage"}, short: '?', help: true},
}

// byLong finds a flag by its long name, or by a unique prefix of one (argp
// accepts abbreviations; urfave/cli would reject them, so treating them as
// the full name can only make the wrapper mask where runc then fails).
func (t flagTable) byLong(name string) (flagSpec, bool) {
	var found []flagSpec
	for _, f := range t {
		for _, l := range f.long {
			if l == name {
				return f, true
			}
			if strings.HasPrefix(l, name) {
				found = append(found, f)
			}
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return flagSpec{}, false
}

func (t flagTable) byShort(c byte) (flagSpec, bool) {
	for _, f := range t {
		if f.short == c {
			return f, true
		}
	}
	return flagSpec{}, false
}

// name returns the flag's canonical (first long, else short) name.
func (f flagSpec) name() string {
	if len(f.long) > 0 {
		return f.long[0]
	}
	return string(f.short)
}
