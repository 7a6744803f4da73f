package wrapper

import (
	"encoding/json"
	"testing"
	"time"
)

func TestFormatLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := map[string]struct {
		format, level, msg, want string
	}{
		"json":      {"json", LevelError, "hwcap-runtime: refused", `{"level":"error","msg":"hwcap-runtime: refused","time":"2026-01-02T03:04:05.0000006Z"}` + "\n"},
		"json nl":   {"json", LevelWarn, "a\nb\tc \"q\"", `{"level":"warning","msg":"a b c \"q\"","time":"2026-01-02T03:04:05.0000006Z"}` + "\n"},
		"text":      {"text", LevelError, `say "x"`, `time="2026-01-02T03:04:05.0000006Z" level=error msg="say \"x\""` + "\n"},
		"default":   {"", LevelInfo, "m", `time="2026-01-02T03:04:05.0000006Z" level=info msg="m"` + "\n"},
		"json utf8": {"json", LevelError, "\xff", `{"level":"error","msg":"\\xff","time":"2026-01-02T03:04:05.0000006Z"}` + "\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := string(FormatLine(tc.format, tc.level, tc.msg, now))
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if tc.format == "json" {
				// containerd decodes each line into this shape.
				var l struct {
					Level string    `json:"level"`
					Msg   string    `json:"msg"`
					Time  time.Time `json:"time"`
				}
				if err := json.Unmarshal([]byte(got), &l); err != nil || !l.Time.Equal(now) {
					t.Errorf("containerd cannot decode %q: %v", got, err)
				}
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
