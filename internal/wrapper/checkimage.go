package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The restore check runs `hwcapctl check-image --json` in a child process
// instead of decoding the CRIU images here. Decoding needs go-criu's
// protobuf packages, whose package initialisers (descriptor registration,
// and protobuf's detrand, which opens and samples the executable) would
// run on every invocation of the wrapper, pass-through `state` included,
// and nearly double its size. restore is rare; the extra exec is paid only
// there.

// ctlPath finds hwcapctl: next to this executable first (they are
// installed together), else on PATH (or the default PATH when it is
// empty). A variable for tests.
var ctlPath = func() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "hwcapctl")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return Lookup([]string{"hwcapctl"}, os.Getenv("PATH"), nil)
}

// ctlHost, when set, is passed as --host FILE (tests describe a host).
var ctlHost string

// checkTimeout bounds the check; a checkpoint's images are read with
// hwcapctl's own size limits.
const checkTimeout = 60 * time.Second

const (
	verdictIncompatible = "incompatible"
	maxReport           = 4 << 20
)

// imageReport is the part of hwcapctl check-image's JSON the wrapper uses.
type imageReport struct {
	Verdict  string      `json:"verdict"`
	Arch     string      `json:"arch"`
	HostArch string      `json:"hostArch"`
	Blocking []string    `json:"blocking"`
	Tasks    []imageTask `json:"tasks"`
}

type imageTask struct {
	PID     int    `json:"pid"`
	Comm    string `json:"comm"`
	Verdict string `json:"verdict"`
}

func (t imageTask) label() string {
	if t.Comm == "" {
		return fmt.Sprintf("pid %d", t.PID)
	}
	return fmt.Sprintf("pid %d (%s)", t.PID, t.Comm)
}

// Compatible reports whether a restore meets no missing feature.
func (r *imageReport) Compatible() bool { return r.Verdict != verdictIncompatible }

// checkImages compares the checkpoint in dir with this host. The wrapper has
// not masked itself yet when it runs, so hwcapctl sees the words the
// kernel gives every process here.
func (w *Wrapper) checkImages(dir string) (*imageReport, error) {
	ctl, err := ctlPath()
	if err != nil {
		return nil, fmt.Errorf("hwcapctl, which reads checkpoints, not found next to hwcap-runtime or on PATH: %w", err)
	}
	args := []string{"check-image", "--json"}
	if ctlHost != "" {
		args = append(args, "--host", ctlHost)
	}
	args = append(args, "--", dir)
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ctl, args...)
	cmd.Env = []string{"PATH=" + DefaultPath}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitWriter{w: &stdout, n: maxReport}
	cmd.Stderr = &limitWriter{w: &stderr, n: 64 << 10}
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		msg = strings.TrimPrefix(msg, "hwcapctl check-image: ")
		if msg == "" {
			msg = err.Error()
		}
		return nil, errors.New(msg)
	}
	var r imageReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || r.Verdict == "" {
		return nil, fmt.Errorf("%s check-image: unreadable report: %w", ctl, err)
	}
	return &r, nil
}

// limitWriter keeps at most n bytes and drops the rest.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	k := len(p)
	if k > l.n {
		p = p[:l.n]
	}
	l.n -= len(p)
	if len(p) > 0 {
		if _, err := l.w.Write(p); err != nil {
			return 0, err
		}
	}
	return k, nil
}
