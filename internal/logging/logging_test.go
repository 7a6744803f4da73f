package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func TestRecordFields(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "hwcap-hook")
	if err := l.Log(Record{Container: "c1", Stage: "createRuntime", Mask: "hwcap=0x1", Hidden: []string{"sse2"},
		Policy: "warn", Decision: "warned", Duration: 1500 * time.Microsecond, Reason: "why"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(Record{Container: "c2", Stage: "precreate", Err: errors.New("annotation hwcap.dev/deny: bad"), Decision: "invalid"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", buf.String())
	}
	var a, b map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &b); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"component": "hwcap-hook", "container": "c1", "stage": "createRuntime", "mask": "hwcap=0x1",
		"policy": "warn", "decision": "warned", "duration_ms": 1.5, "reason": "why", "level": "warning", "msg": "warned"} {
		if a[k] != want {
			t.Errorf("%s = %v, want %v", k, a[k], want)
		}
	}
	if b["level"] != "error" || b["error"] != "annotation hwcap.dev/deny: bad" || b["msg"] != "invalid" {
		t.Errorf("error line: %v", b)
	}
}

// TestConcurrentAppendWholeLines opens the file once per writer, as
// concurrent hook processes do, and checks no line is torn.
func TestConcurrentAppendWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "hwcap.log")
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			l, err := Open(path, "test")
			if err != nil {
				t.Error(err)
				return
			}
			defer l.Close()
			for i := 0; i < each; i++ {
				if err := l.Log(Record{Container: strings.Repeat("x", 1000+w), Stage: "s", Decision: "d"}); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	n := 0
	for s.Scan() {
		var m map[string]any
		if err := json.Unmarshal(s.Bytes(), &m); err != nil {
			t.Fatalf("line %d torn: %v", n, err)
		}
		n++
	}
	if n != writers*each {
		t.Fatalf("%d lines, want %d", n, writers*each)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir, "x"); err == nil {
		t.Fatal("opened a directory")
	}
	l, err := Open("", "x")
	if err != nil || l.Log(Record{Decision: "d"}) != nil || l.Close() != nil {
		t.Fatal("discard logger failed")
	}
	long := strings.Repeat("y", 3*maxField)
	var buf bytes.Buffer
	if err := New(&buf, "x").Log(Record{Reason: long}); err != nil || buf.Len() > 2*maxField {
		t.Fatalf("field not cut: %d bytes", buf.Len())
	}
}

// A FIFO as the log file used to block Open (and so the hook) for ever.
func TestOpenFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Open(p, "test"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open blocked on a FIFO")
	}
}

// TestLine pins the two layouts of a runtime's --log file: runc writes
// them with these logrus formatters, and containerd decodes the JSON one
// ({"level","msg","time"}) for the error it reports.
func TestLine(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := map[string]struct {
		format string
		level  logrus.Level
		msg    string
		fields logrus.Fields
		want   string
	}{
		"json":        {"json", logrus.ErrorLevel, "hwcap-runtime: refused", nil, `{"level":"error","msg":"hwcap-runtime: refused","time":"2026-01-02T03:04:05.0000006Z"}`},
		"json warn":   {"json", logrus.WarnLevel, `a "q"`, nil, `{"level":"warning","msg":"a \"q\"","time":"2026-01-02T03:04:05.0000006Z"}`},
		"json fields": {"json", logrus.InfoLevel, "m", logrus.Fields{"decision": "masked"}, `{"decision":"masked","level":"info","msg":"m","time":"2026-01-02T03:04:05.0000006Z"}`},
		"text":        {"text", logrus.ErrorLevel, `say "x"`, nil, `time="2026-01-02T03:04:05.0000006Z" level=error msg="say \"x\""`},
		"text plain":  {"", logrus.InfoLevel, "m", nil, `time="2026-01-02T03:04:05.0000006Z" level=info msg=m`},
		"text fields": {"text", logrus.InfoLevel, "m", logrus.Fields{"decision": "ok"}, `time="2026-01-02T03:04:05.0000006Z" level=info msg=m decision=ok`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Line(Formatter(tc.format), tc.level, tc.msg, tc.fields, now)
			if err != nil || string(got) != tc.want+"\n" {
				t.Fatalf("got  %s (%v)\nwant %s", got, err, tc.want)
			}
			if tc.format != "json" {
				return
			}
			var l struct {
				Level string    `json:"level"`
				Msg   string    `json:"msg"`
				Time  time.Time `json:"time"`
			}
			if err := json.Unmarshal(got, &l); err != nil || !l.Time.Equal(now) || l.Msg != tc.msg || l.Level != tc.level.String() {
				t.Errorf("containerd cannot decode %q: %+v %v", got, l, err)
			}
		})
	}
}
