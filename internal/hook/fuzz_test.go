package hook

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// FuzzRun feeds a whole hook run (any stage) arbitrary stdin, with a node
// whose profile directory holds one valid profile and a bundle whose
// config.json is also fuzzed. Whatever comes in: a documented exit code,
// at most one stderr line without control characters, no stdout except
// precreate's config, and a log of whole JSON lines.
func FuzzRun(f *testing.F) {
	for _, s := range []string{
		`{"ociVersion":"1.0","id":"c","pid":0,"bundle":"/b","annotations":{"hwcap.dev/deny":"sve"}}`,
		`{"id":"c","annotations":{"hwcap.dev/profile":"n1","hwcap.dev/policy":"warn"}}`,
		`{"id":"c","annotations":{"hwcap.dev/mask":"hwcap=0x1","hwcap.dev/deny":"sve"}}`,
		`{"id":"c","annotations":{"hwcap.dev/deny":"sve","hwcap.dev/deny":"fp"}}`,
		`{"ociVersion":"1.0.2","process":{"args":["app"]},"annotations":{"hwcap.dev/allow":"fp"}}`,
	} {
		for _, stage := range []string{StageCreateRuntime, StagePoststart, StagePrecreate} {
			f.Add(stage, []byte(s), []byte(`{"process":{"args":["/.hwcap-shim","--deny","sve","--","app"]}}`))
		}
	}
	f.Fuzz(func(t *testing.T, stage string, stdin, cfg []byte) {
		if len(stdin) > 1<<16 || len(cfg) > 1<<16 {
			return
		}
		fk := newFake(t, hwcap.Enforce)
		dir := filepath.Dir(fk.node.LogFile)
		if err := os.WriteFile(filepath.Join(dir, "n1.json"), []byte(`{"version":"hwcap.dev/v1","arch":"arm64","allow":["fp","asimd"]}`), 0o644); err != nil {
			t.Fatal(err)
		}
		b := t.TempDir()
		if err := os.WriteFile(filepath.Join(b, "config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		// Point a state's bundle at the fuzzed config.json.
		var m map[string]any
		if json.Unmarshal(stdin, &m) == nil && m != nil {
			if _, ok := m["bundle"]; ok {
				m["bundle"] = b
				stdin, _ = json.Marshal(m)
			}
		}
		h, out, errb := fk.hook(string(stdin))
		code := h.Run([]string{stage})
		switch code {
		case ExitOK, ExitRefused, ExitInvalid, ExitFailed:
		default:
			t.Fatalf("exit %d", code)
		}
		e := errb.String()
		if stage != "" && !strings.HasPrefix(stage, "-") && stage != "help" && stage != "version" {
			if strings.Count(e, "\n") > 1 && !strings.Contains(e, "usage:") && !strings.Contains(e, "warning: open log") {
				t.Fatalf("stderr is not one line: %q", e)
			}
		}
		for _, r := range strings.TrimRight(e, "\n") {
			if r < 0x20 && r != '\n' {
				t.Fatalf("control character %U on stderr: %q", r, e)
			}
		}
		if stage != StagePrecreate && out.Len() != 0 {
			t.Fatalf("stage %q wrote to stdout: %q", stage, out)
		}
		if stage == StagePrecreate && code == ExitOK && !json.Valid(out.Bytes()) {
			t.Fatalf("precreate wrote invalid JSON: %q", out)
		}
		if data, err := os.ReadFile(fk.node.LogFile); err == nil {
			for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
				if !json.Valid(l) {
					t.Fatalf("log line %q", l)
				}
			}
		}
	})
}
