package hook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// forged is a key that would print a second, forged line if written raw.
const forged = `hwcap.dev/deny\u001b[1A\u001b[2K\nhwcap-hook: container web: mask confirmed\r`

// TestEveryErrorPathOneLine (issue 16, finding 4): every error path of
// every stage prints exactly one line with no raw control byte, whatever
// the tenant's key holds.
func TestEveryErrorPathOneLine(t *testing.T) {
	dupAnn := `{"` + forged + `":"sve","` + forged + `":"fp"}`
	badKey := `{"` + forged + `x":"sve"}`
	cfgDup := `{"ociVersion":"1.0.2","process":{"args":["app"]},"annotations":` + dupAnn + `}`
	for name, tc := range map[string]struct {
		stage, stdin, config string
	}{
		"precreate dup key":           {StagePrecreate, cfgDup, ""},
		"precreate null after":        {StagePrecreate, `{"ociVersion":"1.0.2","process":{"args":["app"]},"annotations":{"hwcap.dev/deny":"sve"},"annotations":null}`, ""},
		"precreate cased after":       {StagePrecreate, `{"ociVersion":"1.0.2","process":{"args":["app"]},"annotations":{"hwcap.dev/deny":"sve"},"ANNOTATIONS":null}`, ""},
		"guard state null after":      {StageCreateRuntime, `{"id":"web","pid":0,"bundle":"/b","annotations":{"hwcap.dev/deny":"sve"},"annotations":null}`, ""},
		"precreate dup member":        {StagePrecreate, `{"annotations":{"hwcap.dev/deny":"sve"},"annotations":{"` + forged + `":1}}`, ""},
		"precreate broken json":       {StagePrecreate, "{\"annotations\":{\"hwcap.dev/deny\":\"sve\"}\x1b\n}", ""},
		"precreate bad key":           {StagePrecreate, `{"process":{"args":["app"]},"annotations":` + badKey + `}`, ""},
		"precreate bad args":          {StagePrecreate, `{"process":{"args":"` + forged + `"},"annotations":{"hwcap.dev/deny":"sve"}}`, ""},
		"createRuntime state dup":     {StageCreateRuntime, `{"id":"web","pid":0,"annotations":` + dupAnn + `}`, ""},
		"createRuntime state bad key": {StageCreateRuntime, `{"id":"web","pid":0,"bundle":"/b","annotations":` + badKey + `}`, ""},
		"createRuntime state id":      {StageCreateRuntime, `{"id":"we\u001b[2K\nb","pid":-1,"annotations":{"hwcap.dev/deny":"sve"}}`, ""},
		"createRuntime broken state":  {StageCreateRuntime, "{\"id\":\"web\",\x1b\n", ""},
		"createRuntime config dup":    {StageCreateRuntime, `{"id":"web","pid":0,"bundle":"BUNDLE","annotations":{"hwcap.dev/deny":"sve"}}`, cfgDup},
		"prestart config dup":         {StagePrestart, `{"id":"web","pid":0,"bundle":"BUNDLE","annotations":{"hwcap.dev/deny":"sve"}}`, cfgDup},
		"poststart state dup":         {StagePoststart, `{"id":"web","pid":0,"annotations":` + dupAnn + `}`, ""},
		"poststart bad key":           {StagePoststart, `{"id":"web","pid":1,"bundle":"/b","annotations":` + badKey + `}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, hwcap.Enforce)
			stdin := tc.stdin
			if tc.config != "" {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.config), 0o644); err != nil {
					t.Fatal(err)
				}
				stdin = strings.ReplaceAll(stdin, "BUNDLE", dir)
			}
			h, out, errb := f.hook(stdin)
			code := h.Run([]string{tc.stage})
			if code == ExitOK {
				t.Fatalf("exit 0 (stdout %q)", out)
			}
			s := errb.String()
			if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
				t.Errorf("stderr is not one line: %q", s)
			}
			for _, r := range strings.TrimSuffix(s, "\n") {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Errorf("stderr has control character %U: %q", r, s)
					break
				}
			}
			if tc.stage == StagePrecreate && out.Len() != 0 {
				t.Errorf("precreate wrote a config although it failed: %q", out)
			}
		})
	}
}
