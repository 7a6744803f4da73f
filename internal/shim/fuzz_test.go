package shim

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

// FuzzParse: the shim's argv (from the image or the precreate stage) and
// environment. Parse must not panic; an accepted command line has a command
// and a valid policy; an error is one line that names what was wrong.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"--deny\x00sve\x00--\x00app", "--\x00--", "--mask=hwcap=0x1\x00--policy\x00warn\x00app",
		"--policy\x00--\x00app", "--deny\x00--\x00--\x00app", "-allow=fp,asimd\x00x", "--profile\x00/etc/shadow\x00--\x00x",
	} {
		f.Add(s, "", "sve")
	}
	f.Fuzz(func(t *testing.T, argv, envDeny, envMask string) {
		args := strings.Split(argv, "\x00")
		getenv := func(k string) string {
			switch k {
			case EnvDeny:
				return envDeny
			case EnvMask:
				return envMask
			}
			return ""
		}
		s, err := Parse(args, getenv)
		if err != nil {
			if !errors.Is(err, flag.ErrHelp) && err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(s.Command) == 0 || s.Command[0] == "" || (s.Policy != "enforce" && s.Policy != "warn") {
			t.Fatalf("accepted %+v", s)
		}
	})
}
