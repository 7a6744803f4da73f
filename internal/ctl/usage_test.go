package ctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: every mistake exits 2 with one line on stderr that names
// the bad input and the fix, and nothing on stdout.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, filepath.Join(dir, "garbage.txt"), "hello\n")
	typo := writeFile(t, filepath.Join(dir, "typo.json"), `{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","sve3"]}`)
	n1 := capture("arm64-ref-graviton2-neoverse-n1.txt")
	cases := map[string]struct {
		args []string
		want []string // substrings of the one stderr line
	}{
		"no command":         {nil, []string{"Usage:"}},
		"unknown command":    {[]string{"baseline2"}, []string{`unknown command "baseline2"`, "baseline"}},
		"unknown flag":       {[]string{"features", "--jsn"}, []string{"flag provided but not defined: -jsn", "hwcapctl features --help"}},
		"features argument":  {[]string{"features", "extra"}, []string{`unexpected argument "extra"`}},
		"baseline no files":  {[]string{"baseline"}, []string{"no input files"}},
		"baseline missing":   {[]string{"baseline", filepath.Join(dir, "nope.txt")}, []string{"nope.txt", "no such file"}},
		"baseline garbage":   {[]string{"baseline", n1, garbage}, []string{"garbage.txt", `no "Features" (arm64) or "flags" (x86) line`}},
		"baseline typo":      {[]string{"baseline", typo}, []string{"typo.json", `unknown feature "sve3" for arm64 (did you mean`}},
		"baseline mixed":     {[]string{"baseline", n1, capture("x86-ref-intel-sandybridge.txt")}, []string{"mixed architectures", "arm64: " + n1, "run baseline once per architecture"}},
		"baseline stdin x2":  {[]string{"baseline", "-", "-"}, []string{`"-" (stdin) given twice`}},
		"baseline -o dir":    {[]string{"baseline", n1, "-o", dir + "/"}, []string{"is a directory"}},
		"check no profile":   {[]string{"check"}, []string{"--profile is required"}},
		"check bad host":     {[]string{"check", "--profile", n1, "--host", garbage}, []string{"garbage.txt"}},
		"inspect nothing":    {[]string{"inspect"}, []string{"want one PID or --container ID"}},
		"inspect bad pid":    {[]string{"inspect", "12ab"}, []string{`PID "12ab" is not a positive number`}},
		"inspect zero pid":   {[]string{"inspect", "0"}, []string{`PID "0"`}},
		"inspect both":       {[]string{"inspect", "1", "--container", "x"}, []string{"not both"}},
		"inspect runtime":    {[]string{"inspect", "--container", "x", "--runtime", "docker"}, []string{`--runtime "docker" (want runc or crun)`}},
		"inspect flag id":    {[]string{"inspect", "--container", "-rf"}, []string{`container ID "-rf" is not valid`}},
		"inspect root":       {[]string{"inspect", "--container", "x", "--root", "-x"}, []string{`--root "-x" is not an absolute path`}},
		"inspect id char":    {[]string{"inspect", "--container", "a/b"}, []string{`container ID "a/b" has character '/'`}},
		"explain nothing":    {[]string{"explain"}, []string{"want exactly one MASK or PROFILE"}},
		"explain typo":       {[]string{"explain", "allow:fp,sve3", "--arch", "arm64"}, []string{`unknown feature "sve3" for arm64 (did you mean`}},
		"explain bad word":   {[]string{"explain", "hwcap9=0x1"}, []string{`unknown word "hwcap9"`}},
		"explain bad value":  {[]string{"explain", "hwcap2=zero"}, []string{`"zero" is not a 64-bit number`}},
		"explain not a mask": {[]string{"explain", "sve2"}, []string{`"sve2" is not a file, raw words (hwcap2=0x0), allow:LIST or deny:LIST`}},
		"explain bad arch":   {[]string{"explain", "deny:fp", "--arch", "sparc"}, []string{`unknown architecture "sparc"`}},
		"explain arch+host":  {[]string{"explain", "deny:fp", "--arch", "arm64", "--host", n1}, []string{"exclude each other"}},
		"explain wrong arch": {[]string{"explain", n1, "--arch", "amd64"}, []string{"is a arm64 profile"}},
		"nfd prefix":         {[]string{"nfd", "--host", n1, "--prefix", "Hwcap.dev", "--stdout"}, []string{"--prefix", `"Hwcap.dev"`}},
		"nfd reserved":       {[]string{"nfd", "--host", n1, "--prefix", "node.kubernetes.io", "--stdout"}, []string{"reserved"}},
		"nfd file":           {[]string{"nfd", "--host", n1, "--file", ".hidden", "--stdout"}, []string{"--file", `".hidden"`}},
		"nfd expiry":         {[]string{"nfd", "--host", n1, "--expiry", "-1h", "--stdout"}, []string{"--expiry -1h0m0s is negative"}},
		"nfd profiles":       {[]string{"nfd", "--host", n1, "--profiles", filepath.Join(dir, "none"), "--stdout"}, []string{"--profiles", "no such file"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != ExitUsage {
				t.Errorf("exit %d, want %d", r.code, ExitUsage)
			}
			if name == "no command" {
				return
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
			if strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}

func TestHelp(t *testing.T) {
	r := mustRun(t, ExitOK, "--help")
	for _, c := range commands {
		if !strings.Contains(r.stdout, "hwcapctl "+c.name+" ") {
			t.Errorf("usage lacks %s", c.name)
		}
	}
	r = mustRun(t, ExitOK, "baseline", "--help")
	if !strings.Contains(r.stdout, "-o PROFILE") || !strings.Contains(r.stdout, "-json") {
		t.Errorf("baseline --help:\n%s", r.stdout)
	}
	if v := mustRun(t, ExitOK, "version").stdout; strings.TrimSpace(v) == "" {
		t.Error("empty version")
	}
}

// TestFlagsAnywhere: flags may follow positional arguments, and "--" ends
// flag parsing so a file named like a flag can be read.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "-o")
	data, err := os.ReadFile(capture("arm64-ref-graviton2-neoverse-n1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, odd, string(data))
	out := filepath.Join(dir, "p.json")
	mustRun(t, ExitOK, "baseline", capture("arm64-ref-graviton3-neoverse-v1.txt"), "-o", out, "--", odd)
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, ExitOK, "check", "--host", capture("arm64-ref-graviton2-neoverse-n1.txt"), "--json", "--profile", out)
	if !strings.Contains(r.stdout, `"verdict": "identical"`) {
		t.Errorf("baseline(v1, n1) on n1: %s", r.stdout)
	}
}
