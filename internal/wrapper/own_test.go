package wrapper

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/config"
)

func TestSplitOwn(t *testing.T) {
	for name, tc := range map[string]struct {
		args    []string
		profile string
		rest    []string
		err     string // "" = no error
	}{
		"none":           {[]string{"--root", "/r", "create", "c"}, "", []string{"--root", "/r", "create", "c"}, ""},
		"empty":          {nil, "", nil, ""},
		"separate value": {[]string{"--hwcap-profile", "fleet", "--root", "/r", "create", "c"}, "fleet", []string{"--root", "/r", "create", "c"}, ""},
		"joined value":   {[]string{"--hwcap-profile=neoverse-n1", "state", "c"}, "neoverse-n1", []string{"state", "c"}, ""},
		"only the flag":  {[]string{"--hwcap-profile=fleet"}, "fleet", []string{}, ""},
		// Not leading: the runtime's, passed on (runc rejects it itself).
		"after a runtime flag": {[]string{"--root", "/r", "--hwcap-profile", "x", "create"}, "", []string{"--root", "/r", "--hwcap-profile", "x", "create"}, ""},
		"missing value":        {[]string{"--hwcap-profile"}, "", nil, "--hwcap-profile needs a profile name (e.g. --hwcap-profile fleet)"},
		"twice":                {[]string{"--hwcap-profile", "a", "--hwcap-profile=b", "create"}, "", nil, "--hwcap-profile given twice"},
		"typo":                 {[]string{"--hwcap-profil", "a", "create"}, "", nil, `unknown option "--hwcap-profil" (the only hwcap-runtime option is --hwcap-profile NAME`},
		"bad name":             {[]string{"--hwcap-profile", "../etc/passwd", "create"}, "", nil, `--hwcap-profile: cannot use profile: bad profile name "../etc/passwd": character '.'`},
		"empty name":           {[]string{"--hwcap-profile=", "create"}, "", nil, `bad profile name ""`},
	} {
		t.Run(name, func(t *testing.T) {
			own, rest, err := splitOwn(tc.args)
			if tc.err != "" {
				if !errors.Is(err, ErrOwnFlag) || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err %v, want one line with %q", err, tc.err)
				}
				return
			}
			if err != nil || own.Profile != tc.profile || !(len(rest) == 0 && len(tc.rest) == 0 || reflect.DeepEqual(rest, tc.rest)) {
				t.Fatalf("got %+v %q %v, want %q %q", own, rest, err, tc.profile, tc.rest)
			}
		})
	}
}

func TestWithDefault(t *testing.T) {
	own := ownFlags{Profile: "fleet"}
	in := map[string]string{"other": "x"}
	if got := own.withDefault(in); got["hwcap.dev/profile"] != "fleet" || got["other"] != "x" || len(in) != 1 {
		t.Fatalf("unannotated: %v (input now %v)", got, in)
	}
	mine := map[string]string{"hwcap.dev/deny": "sve"}
	if got := own.withDefault(mine); !reflect.DeepEqual(got, mine) {
		t.Fatalf("the container's own annotations must win: %v", got)
	}
	if got := (ownFlags{}).withDefault(in); !reflect.DeepEqual(got, in) {
		t.Fatalf("no --hwcap-profile: %v", got)
	}
}

// TestRunDefaultProfile: Docker's runtimeArgs put --hwcap-profile first;
// the real runtime never sees it, and an unannotated container gets the
// profile (here one that the node lacks, so the refusal names it).
func TestRunDefaultProfile(t *testing.T) {
	plain := writeBundle(t, `{"annotations":{"other":"x"}}`)
	h := newHarness(t, plain)

	runtimeArgs := []string{"--root", "/r", "--log", filepath.Join(h.dir, "log.json"), "--log-format", "json"}
	// Pass-through commands: stripped, byte for byte otherwise.
	for _, cmd := range [][]string{{"state", "c1"}, {"kill", "c1", "9"}, {"--version"}} {
		args := append(slices.Clone(runtimeArgs), cmd...)
		if code := h.run("/", append([]string{"--hwcap-profile", "fleet"}, args...)...); code != ExitNotExec {
			t.Fatalf("%q: exit %d: %s", cmd, code, h.stderr.String())
		}
		if want := append([]string{h.runtime}, args...); !reflect.DeepEqual(h.execed, want) {
			t.Fatalf("exec argv %q, want %q", h.execed, want)
		}
	}
	// create of an unannotated container: the runtime's profile applies.
	code := h.run("/", append([]string{"--hwcap-profile=fleet"}, append(slices.Clone(runtimeArgs), "create", "--bundle", plain, "c1")...)...)
	if code != ExitRefused || h.execed != nil || !strings.Contains(h.stderr.String(), `profile "fleet"`) {
		t.Fatalf("exit %d, exec %q, stderr %q: want the profile named", code, h.execed, h.stderr.String())
	}
	// The container's own annotation wins.
	own := writeBundle(t, `{"annotations":{"hwcap.dev/profile":"mine"}}`)
	code = h.run("/", "--hwcap-profile", "fleet", "create", "--bundle", own, "c2")
	if code != ExitRefused || !strings.Contains(h.stderr.String(), `"mine"`) || strings.Contains(h.stderr.String(), "fleet") {
		t.Fatalf("exit %d, stderr %q: want the container's profile", code, h.stderr.String())
	}
	// A bad option: one line, nothing run.
	if code := h.run("/", "--hwcap-profile", "Fleet", "create", "--bundle", plain, "c3"); code != ExitRefused || h.execed != nil ||
		strings.Count(h.stderr.String(), "\n") != 1 || !strings.Contains(h.stderr.String(), `hwcap-runtime: bad hwcap-runtime option: --hwcap-profile: cannot use profile: bad profile name "Fleet"`) {
		t.Fatalf("exit %d, stderr %q", code, h.stderr.String())
	}
}

func FuzzSplitOwn(f *testing.F) {
	f.Add("--hwcap-profile\x00fleet\x00--root\x00/r\x00create\x00c")
	f.Add("--hwcap-profile=a\x00--hwcap-profile=b")
	f.Add("--hwcap-x")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		own, rest, err := splitOwn(args)
		if err != nil {
			return
		}
		// What is passed on is a suffix of argv, and none of ours.
		if len(rest) > len(args) || !slices.Equal(rest, args[len(args)-len(rest):]) {
			t.Fatalf("rest %q is not a suffix of %q", rest, args)
		}
		if len(rest) > 0 && strings.HasPrefix(rest[0], "--hwcap-") {
			t.Fatalf("rest starts with our option: %q", rest)
		}
		if own.Profile != "" && config.CheckProfileName(own.Profile) != nil {
			t.Fatalf("accepted profile %q", own.Profile)
		}
	})
}
