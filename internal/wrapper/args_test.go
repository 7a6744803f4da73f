package wrapper

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	type want struct {
		cmd       string
		idx       int
		root      string
		log       string
		logFormat string
		help      bool
		bundle    string
		config    string
		ids       []string
		mask      bool
	}
	tests := map[string]struct {
		argv string // split on single spaces; "<sp>" stands for a space inside a token
		want want
	}{
		// runc's global options, every form.
		"runc no globals":       {"create c1", want{cmd: "create", idx: 0, ids: []string{"c1"}, mask: true}},
		"runc --root value":     {"--root /r create c1", want{cmd: "create", idx: 2, root: "/r", ids: []string{"c1"}, mask: true}},
		"runc --root=value":     {"--root=/r create c1", want{cmd: "create", idx: 1, root: "/r", ids: []string{"c1"}, mask: true}},
		"runc -root value":      {"-root /r create c1", want{cmd: "create", idx: 2, root: "/r", ids: []string{"c1"}, mask: true}},
		"runc -root=value":      {"-root=/r create c1", want{cmd: "create", idx: 1, root: "/r", ids: []string{"c1"}, mask: true}},
		"runc root twice":       {"--root /a --root /b state c1", want{cmd: "state", idx: 4, root: "/b"}},
		"runc debug":            {"--debug create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},
		"runc -debug":           {"-debug create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},
		"runc debug=false":      {"--debug=false create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},
		"runc systemd-cgroup":   {"--systemd-cgroup create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},
		"runc rootless value":   {"--rootless true create c1", want{cmd: "create", idx: 2, ids: []string{"c1"}, mask: true}},
		"runc rootless=value":   {"--rootless=auto create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},
		"runc criu":             {"--criu /usr/sbin/criu restore c1", want{cmd: "restore", idx: 2, ids: []string{"c1"}, mask: true}},
		"runc log json":         {"--log /l.json --log-format json exec c1 sh", want{cmd: "exec", idx: 4, log: "/l.json", logFormat: "json", ids: []string{"c1"}, mask: true}},
		"runc -log=":            {"-log=/l -log-format=text run c1", want{cmd: "run", idx: 2, log: "/l", logFormat: "text", ids: []string{"c1"}, mask: true}},
		"containerd shim form":  {"--root /run/containerd/runc/default --log /b/log.json --log-format json --systemd-cgroup create --bundle /b --pid-file /b/init.pid c1", want{cmd: "create", idx: 7, root: "/run/containerd/runc/default", log: "/b/log.json", logFormat: "json", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"runc --help":           {"--help", want{idx: -1, help: true}},
		"runc -h create":        {"-h create c1", want{cmd: "create", idx: 1, help: true, ids: []string{"c1"}}},
		"runc --version":        {"--version", want{idx: -1, help: true}},
		"runc -v":               {"-v", want{idx: -1, help: true}},
		"no command":            {"--root /r", want{idx: -1, root: "/r"}},
		"empty":                 {"", want{idx: -1}},
		"globals end at --":     {"--root /r -- create c1", want{cmd: "create", idx: 3, root: "/r", ids: []string{"c1"}, mask: true}},
		"unknown global bool":   {"--newflag create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},
		"unknown global value":  {"--newflag v create c1", want{cmd: "create", idx: 2, ids: []string{"c1"}, mask: true}},
		"unknown global =value": {"--newflag=v create c1", want{cmd: "create", idx: 1, ids: []string{"c1"}, mask: true}},

		// crun's global options.
		"crun cgroup-manager":      {"--cgroup-manager systemd create c1", want{cmd: "create", idx: 2, ids: []string{"c1"}, mask: true}},
		"crun cgroup-manager=":     {"--cgroup-manager=cgroupfs run c1", want{cmd: "run", idx: 1, ids: []string{"c1"}, mask: true}},
		"crun abbreviated --log-f": {"--log-f json create c1", want{cmd: "create", idx: 2, logFormat: "json", ids: []string{"c1"}, mask: true}},
		"crun ambiguous --ro":      {"--ro /r create c1", want{cmd: "create", idx: 2, ids: []string{"c1"}, mask: true}},
		"crun log-level":           {"--log-level=debug --log=journald:x create c1", want{cmd: "create", idx: 2, log: "journald:x", ids: []string{"c1"}, mask: true}},
		"crun -V":                  {"-V", want{idx: -1, help: true}},
		"crun -?":                  {"-?", want{idx: -1, help: true}},
		"crun --usage":             {"--usage", want{idx: -1, help: true}},
		"crun rootless systemd":    {"--rootless=true --systemd-cgroup --debug exec c1 true", want{cmd: "exec", idx: 3, ids: []string{"c1"}, mask: true}},
		"podman crun form":         {"--root /run/crun --systemd-cgroup --log /x/l --log-format=json run --bundle /b --pid-file /p --detach c1", want{cmd: "run", idx: 6, root: "/run/crun", log: "/x/l", logFormat: "json", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"crun config -f":           {"create -f alt.json c1", want{cmd: "create", idx: 0, config: "alt.json", ids: []string{"c1"}, mask: true}},
		"crun config --config=":    {"run --config=/x.json -b /b c1", want{cmd: "run", idx: 0, config: "/x.json", bundle: "/b", ids: []string{"c1"}, mask: true}},

		// Every form of --bundle / -b.
		"--bundle value":       {"create --bundle /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"--bundle=value":       {"create --bundle=/b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"-b value":             {"create -b /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"-b=value":             {"create -b=/b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"-bundle value":        {"create -bundle /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"-bundle=value":        {"create -bundle=/b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"-bDIR argp":           {"create -b/b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"--bun abbreviation":   {"create --bun /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"bundle after id":      {"create c1 --bundle /b", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"bundle twice":         {"create -b /a --bundle /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"bundle default":       {"create --pid-file /p c1", want{cmd: "create", ids: []string{"c1"}, mask: true}},
		"bundle relative":      {"run -b rel/dir c1", want{cmd: "run", bundle: "rel/dir", ids: []string{"c1"}, mask: true}},
		"bundle with space":    {"run -b /my<sp>dir c1", want{cmd: "run", bundle: "/my dir", ids: []string{"c1"}, mask: true}},
		"bundle after --":      {"create -- --bundle", want{cmd: "create", ids: []string{"--bundle"}, mask: true}},
		"bundle before --":     {"create -b /b -- c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"cluster -db":          {"run -db /b c1", want{cmd: "run", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"cluster -dbDIR":       {"run -db/b c1", want{cmd: "run", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"restore bundle":       {"restore --image-path /img --work-path /w -b /b --tcp-established c1", want{cmd: "restore", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"restore no bundle":    {"restore --image-path /img c1", want{cmd: "restore", ids: []string{"c1"}, mask: true}},
		"value flag eats -b":   {"create --pid-file -b c1", want{cmd: "create", ids: []string{"c1"}, mask: true}},
		"console-socket":       {"create --console-socket /s.sock --bundle /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"preserve-fds":         {"run --preserve-fds 2 --keep --no-pivot -b /b c1", want{cmd: "run", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"create help":          {"create --help", want{cmd: "create", help: true}},
		"create -h":            {"create -h c1", want{cmd: "create", help: true, ids: []string{"c1"}}},
		"unknown create flag":  {"create --newbool -b /b c1", want{cmd: "create", bundle: "/b", ids: []string{"c1"}, mask: true}},
		"unknown create value": {"create --newvalue v -b /b c1", want{cmd: "create", bundle: "/b", ids: []string{"v", "c1"}, mask: true}},
		"missing bundle value": {"create c1 --bundle", want{cmd: "create", ids: []string{"c1"}, mask: true}},

		// exec: options stop at the container id; the command's own
		// options are not the runtime's.
		"exec simple":        {"exec c1 sh -c true", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec process":       {"exec --process /p.json --detach --pid-file /pid c1", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec containerd":    {"--root /r --log /l --log-format json exec --process /tmp/p.json --detach --pid-file /x/pid c1", want{cmd: "exec", idx: 6, root: "/r", log: "/l", logFormat: "json", ids: []string{"c1"}, mask: true}},
		"exec -t -e":         {"exec -t -e A=1 -u 0:0 --cwd / c1 ls -b /x", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec cluster -td":   {"exec -td c1 ls", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec -e=":           {"exec -e=A=1 c1 env", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec --":            {"exec -- c1 ls --help", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec help in cmd":   {"exec c1 ls --help", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec help":          {"exec --help", want{cmd: "exec", help: true}},
		"exec no id":         {"exec", want{cmd: "exec", mask: true}},
		"exec crun tty=":     {"exec --tty=true c1 sh", want{cmd: "exec", ids: []string{"c1"}, mask: true}},
		"exec ignore-paused": {"exec --ignore-paused --cgroup x c1 sh", want{cmd: "exec", ids: []string{"c1"}, mask: true}},

		// Pass-through commands.
		"state":           {"--root /r state c1", want{cmd: "state", idx: 2, root: "/r"}},
		"list":            {"list -q", want{cmd: "list"}},
		"features":        {"features", want{cmd: "features"}},
		"ps":              {"ps c1 -- -ef", want{cmd: "ps"}},
		"start":           {"start c1", want{cmd: "start"}},
		"kill":            {"kill c1 9", want{cmd: "kill"}},
		"checkpoint":      {"checkpoint --image-path /i c1", want{cmd: "checkpoint"}},
		"delete":          {"delete c1", want{cmd: "delete", ids: []string{"c1"}}},
		"delete --force":  {"delete --force c1", want{cmd: "delete", ids: []string{"c1"}}},
		"delete -f after": {"delete c1 -f", want{cmd: "delete", ids: []string{"c1"}}},
		"unknown command": {"frobnicate c1", want{cmd: "frobnicate"}},
		"bundle as cmd":   {"--bundle /b create c1", want{cmd: "create", idx: 2, ids: []string{"c1"}, mask: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var args []string
			if tc.argv != "" {
				for _, a := range strings.Split(tc.argv, " ") {
					args = append(args, strings.ReplaceAll(a, "<sp>", " "))
				}
			}
			orig := append([]string(nil), args...)
			inv := Parse(args)
			if !reflect.DeepEqual(inv.Args, orig) || !reflect.DeepEqual(args, orig) {
				t.Fatalf("Parse changed argv: %q -> %q", orig, inv.Args)
			}
			got := want{
				cmd: inv.Command, idx: inv.CommandIndex, root: inv.Root, log: inv.Log,
				logFormat: inv.LogFormat, help: inv.Help,
				bundle: inv.Bundle, config: inv.ConfigName, ids: inv.IDs, mask: inv.NeedsMask(),
			}
			w := tc.want
			if w.cmd != "" && w.idx == 0 && !strings.HasPrefix(tc.argv, w.cmd) {
				t.Fatalf("test bug: set idx")
			}
			if len(w.ids) == 0 {
				w.ids = nil
			}
			if len(got.ids) == 0 {
				got.ids = nil
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.argv, got, w)
			}
		})
	}
}

// TestSetBundle: the wrapper replaces exactly the token that holds the
// last --bundle value, in every form runc and crun accept.
func TestSetBundle(t *testing.T) {
	for name, tc := range map[string]struct{ argv, want []string }{
		"long":             {[]string{"--root", "/r", "create", "--bundle", "lnk/../b", "c1"}, []string{"--root", "/r", "create", "--bundle", "/P", "c1"}},
		"long eq":          {[]string{"create", "--bundle=lnk/../b", "c1"}, []string{"create", "--bundle=/P", "c1"}},
		"short":            {[]string{"run", "-b", "b", "c1"}, []string{"run", "-b", "/P", "c1"}},
		"short glued":      {[]string{"run", "-bb", "c1"}, []string{"run", "-b/P", "c1"}},
		"cluster":          {[]string{"run", "-db", "b", "c1"}, []string{"run", "-db", "/P", "c1"}},
		"single dash long": {[]string{"create", "-bundle", "b", "c1"}, []string{"create", "-bundle", "/P", "c1"}},
		"last wins":        {[]string{"create", "-b", "a", "c1", "--bundle", "b"}, []string{"create", "-b", "a", "c1", "--bundle", "/P"}},
		"none":             {[]string{"create", "c1"}, []string{"create", "c1"}},
		"no value":         {[]string{"create", "c1", "--bundle"}, []string{"create", "c1", "--bundle"}},
	} {
		t.Run(name, func(t *testing.T) {
			orig := append([]string(nil), tc.argv...)
			inv := Parse(tc.argv)
			inv.SetBundle("/P")
			if !reflect.DeepEqual(inv.Args, tc.want) || !reflect.DeepEqual(tc.argv, orig) {
				t.Fatalf("Args %q (input now %q), want %q", inv.Args, tc.argv, tc.want)
			}
			if again := Parse(inv.Args); again.Bundle != inv.Bundle || again.ID() != inv.ID() {
				t.Fatalf("reparsed: bundle %q id %q, want %q %q", again.Bundle, again.ID(), inv.Bundle, inv.ID())
			}
		})
	}
}

// FuzzParse checks that Parse never panics, never changes argv, and that
// the command it finds is a token of argv at the index it reports.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"--root\x00/r\x00create\x00--bundle\x00/b\x00c1",
		"-b=\x00create",
		"exec\x00--\x00c1\x00ls",
		"--\x00--",
		"-db\x00run",
		"--log-format=json\x00delete\x00-f\x00c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		orig := append([]string(nil), args...)
		inv := Parse(args)
		if !reflect.DeepEqual(args, orig) {
			t.Fatalf("argv changed")
		}
		if inv.CommandIndex >= 0 {
			if inv.CommandIndex >= len(args) || args[inv.CommandIndex] != inv.Command {
				t.Fatalf("command %q at %d not in argv %q", inv.Command, inv.CommandIndex, args)
			}
		} else if inv.Command != "" {
			t.Fatalf("command %q without index", inv.Command)
		}
		// SetBundle changes the bundle and nothing else a parser sees.
		if inv.Bundle != "" && inv.bundleAt >= 0 {
			inv.SetBundle("/P")
			again := Parse(inv.Args)
			if again.Bundle != "/P" || again.Command != inv.Command || !reflect.DeepEqual(again.IDs, inv.IDs) || again.Root != inv.Root {
				t.Fatalf("after SetBundle %q parses as bundle %q command %q ids %q", inv.Args, again.Bundle, again.Command, again.IDs)
			}
		}
	})
}
