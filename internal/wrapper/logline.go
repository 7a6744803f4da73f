package wrapper

import (
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/logging"
)

// Levels of the lines the wrapper writes to the runtime's --log.
const (
	LevelError = logrus.ErrorLevel
	LevelWarn  = logrus.WarnLevel
)

// formatLine renders one line of the runtime's --log file in its
// --log-format, with the logrus formatters runc writes its own lines with
// (logging.Formatter), so containerd parses ours like runc's.
func formatLine(format string, level logrus.Level, msg string, now time.Time) []byte {
	line, err := logging.Line(logging.Formatter(format), level, oneLine(msg), nil, now)
	if err != nil { // cannot happen: no fields, a string message
		return nil
	}
	return line
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

// logFilePath returns the file a --log value names, and false for the
// runtime's stderr and for crun's "journald:ID" and "syslog:ID" drivers
// ("file:PATH" is a file).
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
