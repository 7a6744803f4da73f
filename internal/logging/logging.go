package logging

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// Field names shared by every hwcap component.
const (
	FieldComponent = "component" // hwcap-hook, hwcap-runtime, ...
	FieldContainer = "container" // container id
	FieldStage     = "stage"     // hook stage or runtime command
	FieldMask      = "mask"      // AND mask, hwcap=0x..,hwcap2=0x..
	FieldHidden    = "hidden"    // feature names the mask hides on this host
	FieldPolicy    = "policy"    // enforce | warn
	FieldDecision  = "decision"  // what was decided (component-specific)
	FieldDuration  = "duration_ms"
	FieldReason    = "reason"
)

// maxField bounds any single string field, so one record stays a few KiB.
const maxField = 4 << 10

// Logger writes one JSON line per Record.
type Logger struct {
	mu        sync.Mutex
	out       io.Writer
	closer    io.Closer
	formatter logrus.Formatter
	component string
}

// Record is one run of a component.
type Record struct {
	Container string
	Stage     string
	Mask      string
	Hidden    []string
	Policy    string
	Decision  hwcap.Decision
	Duration  time.Duration
	Reason    string
	Err       error
	// Fields holds any further fields.
	Fields logrus.Fields
}

// Open appends to path (creating it 0640 and its directory 0755). An empty
// path gives a Logger that discards everything.
func Open(path, component string) (*Logger, error) {
	if path == "" {
		return New(io.Discard, component), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	// O_NONBLOCK: opening a FIFO for writing blocks until a reader
	// appears; with it the open fails (ENXIO) or the regular-file check
	// below refuses it, so a FIFO as logFile cannot hang a container start.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errors.New("not a regular file")
		}
		return nil, fmt.Errorf("open log %s: %w", path, err)
	}
	l := New(f, component)
	l.closer = f
	return l, nil
}

// New writes JSON lines to w.
func New(w io.Writer, component string) *Logger {
	return &Logger{out: w, component: component, formatter: Formatter("json")}
}

// Formatter returns logrus's formatter for a --log-format value the way
// runc picks it: JSON for "json" ({"level":..,"msg":..,"time":..}, which
// containerd parses for the error it reports), text for anything else
// (time="..." level=error msg="..."). Times carry nanoseconds.
func Formatter(format string) logrus.Formatter {
	if format == "json" {
		return &logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano}
	}
	return &logrus.TextFormatter{DisableColors: true, FullTimestamp: true, TimestampFormat: time.RFC3339Nano}
}

// Line formats one log line with f: level, msg, time t and fields (nil for
// none), newline included.
func Line(f logrus.Formatter, level logrus.Level, msg string, fields logrus.Fields, t time.Time) ([]byte, error) {
	line, err := f.Format(&logrus.Entry{Data: fields, Time: t, Level: level, Message: msg})
	if err != nil {
		return nil, fmt.Errorf("format log line: %w", err)
	}
	return line, nil
}

// Close closes the file Open opened.
func (l *Logger) Close() error {
	if l.closer == nil {
		return nil
	}
	return l.closer.Close()
}

// Log writes r as one line: level error when r.Err is set, warning for the
// decision hwcap.DecisionWarned, info otherwise.
func (l *Logger) Log(r Record) error {
	f := logrus.Fields{}
	for k, v := range r.Fields {
		f[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			f[k] = cut(v)
		}
	}
	set(FieldComponent, l.component)
	set(FieldContainer, r.Container)
	set(FieldStage, r.Stage)
	set(FieldMask, r.Mask)
	set(FieldPolicy, r.Policy)
	set(FieldDecision, string(r.Decision))
	set(FieldReason, r.Reason)
	if len(r.Hidden) > 0 {
		f[FieldHidden] = r.Hidden
	}
	f[FieldDuration] = float64(r.Duration.Microseconds()) / 1000
	level := logrus.InfoLevel
	msg := string(r.Decision)
	if r.Decision == hwcap.DecisionWarned {
		level = logrus.WarnLevel
	}
	if r.Err != nil {
		level = logrus.ErrorLevel
		f[logrus.ErrorKey] = cut(r.Err.Error())
	}
	return l.write(level, f, msg)
}

func (l *Logger) write(level logrus.Level, f logrus.Fields, msg string) error {
	line, err := Line(l.formatter, level, msg, f, time.Now())
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, err := l.out.Write(line); err != nil {
		if f, ok := l.out.(*os.File); ok && n > 0 && n < len(line) && dropPartial(f, int64(n)) {
			return fmt.Errorf("write log: %w (the cut line was removed)", err)
		}
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

func cut(s string) string {
	if len(s) > maxField {
		return s[:maxField] + "...(cut)"
	}
	return s
}

// dropPartial removes the n bytes of a line that a full file system cut
// short, so that readers never see half a record and the next record does
// not start in the middle of a line. With O_APPEND our bytes end at the
// file offset; they are removed only if nothing was appended after them.
func dropPartial(f *os.File, n int64) bool {
	end, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Size() != end || end < n {
		return false
	}
	return f.Truncate(end-n) == nil
}
