package wrapper

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hwcap/hwcap/internal/logging"
)

// Levels of runtime log lines, as logrus spells them (runc's logger).
const (
	LevelError = "error"
	LevelWarn  = "warning"
	LevelInfo  = "info"
	LevelDebug = "debug"
)

// FormatLine renders one line of the runtime's --log file in the runtime's
// --log-format: "json" gives logrus's JSONFormatter layout, which
// containerd parses for the error it reports
// ({"level":"error","msg":"...","time":"..."}); anything else gives
// logrus's TextFormatter layout (time="..." level=error msg="...").
func FormatLine(format, level, msg string, now time.Time) []byte {
	msg = oneLine(msg)
	ts := now.Format(time.RFC3339Nano)
	if format == "json" {
		b, err := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, ts})
		if err != nil { // cannot happen for strings
			return nil
		}
		return append(b, '\n')
	}
	return []byte("time=" + strconv.Quote(ts) + " level=" + level + " msg=" + strconv.Quote(msg) + "\n")
}

// oneLine keeps a message on one line whatever an error string contains.
func oneLine(s string) string { return logging.OneLine(s) }

// isStderr reports whether a --log value means the runtime's stderr
// (runc's default; crun treats "" the same).
func isStderr(path string) bool {
	return path == "" || path == "/dev/stderr" || path == "/proc/self/fd/2" || path == "-"
}

// appendLog appends one line to the runtime's --log file the way runc opens
// it (create, append, 0644). crun's "journald:" and "syslog:" drivers are
// not files: the caller writes to stderr instead.
func appendLog(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(line)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// isFileLog reports whether a --log value names a file (crun also accepts
// "journald:ID" and "syslog:ID"; "file:PATH" is a file).
func logFilePath(v string) (string, bool) {
	if strings.HasPrefix(v, "file:") {
		v = strings.TrimPrefix(v, "file:")
	} else if strings.HasPrefix(v, "journald:") || strings.HasPrefix(v, "syslog:") {
		return "", false
	}
	if isStderr(v) {
		return "", false
	}
	return v, true
}
