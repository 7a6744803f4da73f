package wrapper

import (
	"testing"
	"time"
)

// TestFormatLine: the layouts are logrus's (logging.TestLine); here, that
// --log-format picks one and that a message stays one line whatever an
// error string holds.
func TestFormatLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := map[string]struct {
		format, msg, want string
	}{
		"json":      {"json", "hwcap-runtime: refused", `{"level":"error","msg":"hwcap-runtime: refused","time":"2026-01-02T03:04:05.0000006Z"}`},
		"json nl":   {"json", "a\nb\tc \"q\"", `{"level":"error","msg":"a b c \"q\"","time":"2026-01-02T03:04:05.0000006Z"}`},
		"json utf8": {"json", "\xff", `{"level":"error","msg":"\\xff","time":"2026-01-02T03:04:05.0000006Z"}`},
		"text":      {"text", "say \"x\"\n", `time="2026-01-02T03:04:05.0000006Z" level=error msg="say \"x\""`},
		"default":   {"", "m", `time="2026-01-02T03:04:05.0000006Z" level=error msg=m`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := string(formatLine(tc.format, LevelError, tc.msg, now)); got != tc.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestLogFilePath(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "/dev/stderr": "", "-": "", "/proc/self/fd/2": "", "journald:x": "", "syslog:y": "",
		"/run/x/log.json": "/run/x/log.json", "file:/a/b": "/a/b", "rel/log": "rel/log",
	} {
		got, ok := logFilePath(in)
		if got != want || ok != (want != "") {
			t.Errorf("logFilePath(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
