package harness

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Cmd is one command the harness runs and times.
type Cmd struct {
	Argv  []string
	Env   []string // nil: the harness's environment
	Dir   string
	Stdin []byte // fed on stdin when not nil
	// Check, when set, validates the output of a run; a run that exits
	// non-zero is always an error.
	Check func(stdout, stderr string) error
	// Output, when set, receives stdout and stderr instead of pipes: for
	// `runc create`, whose waiting init keeps its stdio open.
	Output *os.File
	// After runs untimed once the command has exited (clean-up that a
	// container engine would do in a later call).
	After func()
}

// Sample is one timed run.
type Sample struct {
	Wall time.Duration
	// MaxRSS is the peak RSS in KiB the RSS launcher reported (0 when
	// the command did not run under it).
	MaxRSS int64
}

// Run runs c once. The wall time spans fork to reaped exit, as a caller
// (containerd's shim, podman, conmon) sees it.
func (c *Cmd) Run() (Sample, error) {
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if c.Output != nil {
		cmd.Stdout, cmd.Stderr = c.Output, c.Output
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w: %s", strings.Join(c.Argv, " "), err, oneLine(errb.String()+out.String()))
	}
	if c.Check != nil {
		if err := c.Check(out.String(), errb.String()); err != nil {
			return Sample{}, fmt.Errorf("%s: %w", strings.Join(c.Argv, " "), err)
		}
	}
	if c.After != nil {
		c.After()
	}
	s := Sample{Wall: wall}
	if i := strings.LastIndex(errb.String(), rssMarker); i >= 0 {
		v := strings.TrimSpace(errb.String()[i+len(rssMarker):])
		s.MaxRSS, _ = strconv.ParseInt(v, 10, 64)
	}
	return s, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// envWith returns the harness's environment without any HWCAP_* variable,
// plus extra.
func envWith(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HWCAP_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
