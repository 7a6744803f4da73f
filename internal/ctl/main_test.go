package ctl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/internal/auxv"
	"github.com/hwcap/hwcap/internal/hwcap"
	"github.com/hwcap/hwcap/internal/probe"
)

// envMaskedChild makes the test binary a process that hides the features
// named in the variable from its own saved auxiliary vector
// (PR_SET_MM_MAP, no privilege needed), says "ready" and waits for stdin
// to close: a real masked process for inspect to look at.
const envMaskedChild = "HWCAPCTL_TEST_MASKED_CHILD"

func TestMain(m *testing.M) {
	probe.MaybeChild()
	if names := os.Getenv(envMaskedChild); names != "" {
		os.Exit(maskedChild(names))
	}
	os.Exit(m.Run())
}

func maskedChild(names string) int {
	t, err := hwcap.Host()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	deny, err := t.Bits(strings.Split(names, ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := auxv.Apply(hwcap.All.AndNot(deny), auxv.PathMap); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// captures is the committed /proc/cpuinfo directory.
var captures = filepath.Join("..", "..", "testdata", "cpuinfo")

func capture(name string) string { return filepath.Join(captures, name) }

type result struct {
	code           int
	stdout, stderr string
}

// run runs hwcapctl with args and stdin.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := mainEnv(&env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, args)
	t.Logf("hwcapctl %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errb.String())
	return result{code, out.String(), errb.String()}
}

// mustRun fails the test unless the exit code is want.
func mustRun(t *testing.T, want int, args ...string) result {
	t.Helper()
	r := run(t, "", args...)
	if r.code != want {
		t.Fatalf("hwcapctl %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), r.code, want, r.stderr)
	}
	return r
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, s)
	}
	return v
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
