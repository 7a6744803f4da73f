package shim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.json")
	host, err := hwcap.Host()
	if err != nil {
		t.Fatal(err)
	}
	name := host.Features[0].Name
	if err := os.WriteFile(prof, []byte(`{"version":"hwcap.dev/v1","arch":"`+host.Arch+`","allow":["`+name+`"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args    []string
		env     map[string]string
		wantErr string // substring; "" means success
		check   func(t *testing.T, s *Settings)
	}{
		"deny": {args: []string{"--deny", name, "--", "true"}, check: func(t *testing.T, s *Settings) {
			if len(s.Spec.Deny) != 1 || s.Spec.Deny[0] != name || s.Policy != hwcap.Enforce {
				t.Errorf("got %+v", s)
			}
		}},
		"allow equals form": {args: []string{"--allow=" + name, "true", "-x"}, check: func(t *testing.T, s *Settings) {
			if len(s.Spec.Allow) != 1 || strings.Join(s.Command, " ") != "true -x" {
				t.Errorf("got %+v", s)
			}
		}},
		"args after -- kept verbatim": {args: []string{"--mask", "hwcap=0x1", "--", "sh", "--deny", "x"}, check: func(t *testing.T, s *Settings) {
			if strings.Join(s.Command, "|") != "sh|--deny|x" || s.Spec.Raw == nil || s.Spec.Raw[0] != 1 || s.Spec.Raw[1] != ^uint64(0) {
				t.Errorf("got %+v", s)
			}
		}},
		"profile": {args: []string{"--profile", prof, "--policy", "warn", "--", "true"}, check: func(t *testing.T, s *Settings) {
			if s.Spec.Profile == nil || s.Policy != hwcap.Warn {
				t.Errorf("got %+v", s)
			}
		}},
		"env stands for flags": {args: []string{"true"}, env: map[string]string{EnvDeny: name, EnvPolicy: "warn", EnvRunDir: "/x"}, check: func(t *testing.T, s *Settings) {
			if len(s.Spec.Deny) != 1 || s.Policy != hwcap.Warn || s.RunDir != "/x" {
				t.Errorf("got %+v", s)
			}
		}},
		"flag beats env of same kind": {args: []string{"--policy", "enforce", "true"}, env: map[string]string{EnvPolicy: "warn"}, check: func(t *testing.T, s *Settings) {
			if s.Policy != hwcap.Enforce {
				t.Errorf("got %+v", s)
			}
		}},
		"no mask is allowed":      {args: []string{"true"}, check: func(t *testing.T, s *Settings) {}},
		"allow and deny conflict": {args: []string{"--allow", name, "--deny", name, "true"}, wantErr: "allow and deny given together"},
		"flag and env conflict":   {args: []string{"--allow", name, "true"}, env: map[string]string{EnvDeny: name}, wantErr: "allow and deny"},
		"bad name":                {args: []string{"--deny", "SVE", "true"}, wantErr: `--deny: malformed mask: feature name "SVE" has character 'S'`},
		"empty list":              {args: []string{"--deny", ",", "true"}, wantErr: "--deny: malformed mask: empty feature list"},
		"bad env list":            {args: []string{"true"}, env: map[string]string{EnvAllow: "a b"}, wantErr: "HWCAP_ALLOW: malformed mask"},
		"bad raw":                 {args: []string{"--mask", "hwcap5=1", "true"}, wantErr: `--mask: malformed mask: unknown word "hwcap5"`},
		"bad policy":              {args: []string{"--policy", "strict", "true"}, wantErr: `--policy: unknown policy "strict" (want enforce or warn)`},
		"missing profile":         {args: []string{"--profile", filepath.Join(dir, "nope"), "true"}, wantErr: "no such file"},
		"fifo profile refused":    {args: []string{"--profile", fifo, "true"}, wantErr: "not a regular file"},
		"no command":              {args: []string{"--deny", name}, wantErr: "no command given"},
		"no command after --":     {args: []string{"--deny", name, "--"}, wantErr: "no command given"},
		"unknown flag":            {args: []string{"--hide", "x", "true"}, wantErr: "flag provided but not defined: -hide"},
		"flag missing value":      {args: []string{"--deny"}, wantErr: "flag needs an argument: -deny"},
		"help":                    {args: []string{"--help"}, wantErr: "help requested"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := Parse(tc.args, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			tc.check(t, s)
		})
	}
}

func TestCleanEnv(t *testing.T) {
	in := []string{"PATH=/bin", "HWCAP_DENY=sve", "HWCAP_POLICY=warn", "HWCAP_DENYX=keep", "HWCAP_RUN_DIR=/r", "A=HWCAP_MASK=1"}
	got := strings.Join(cleanEnv(in), " ")
	if want := "PATH=/bin HWCAP_DENYX=keep A=HWCAP_MASK=1"; got != want {
		t.Errorf("cleanEnv = %q, want %q", got, want)
	}
	if in[1] != "HWCAP_DENY=sve" {
		t.Error("cleanEnv modified its input")
	}
}

func TestParseHelpIsErrHelp(t *testing.T) {
	_, err := Parse([]string{"-h"}, func(string) string { return "" })
	if !errors.Is(err, errHelp()) {
		t.Fatalf("err = %v", err)
	}
}
