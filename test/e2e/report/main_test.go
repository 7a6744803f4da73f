package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hwcap/hwcap/test/e2e"
)

func write(t *testing.T, dir, name string, m e2e.Machine, fail string) string {
	t.Helper()
	var b bytes.Buffer
	for _, c := range e2e.Checks(m) {
		r := e2e.Result{Arch: m.Arch, CPU: m.CPU, Kernel: "k", Check: c, Pass: c != fail, Detail: "d"}
		if err := r.Encode(&b); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	host, guest := e2e.Machine{Arch: "amd64", CPU: "host"}, e2e.Machine{Arch: "arm64", CPU: "max"}
	hostFile := write(t, dir, "host.jsonl", host, "")
	guestFile := write(t, dir, "guest.jsonl", guest, "")
	failing := write(t, dir, "failing.jsonl", guest, e2e.CheckWrapperExec)
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"arch\":\"arm64\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.jsonl")
	machines := "amd64/host,arm64/max"
	for name, tc := range map[string]struct {
		args     []string
		code     int
		mentions string
	}{
		"all pass":      {[]string{"-machines", machines, "-o", out, hostFile, guestFile}, 0, "e2e: " + strconv.Itoa(len(e2e.Checks(host))+len(e2e.Checks(guest))) + " passed, 0 failed"},
		"one fails":     {[]string{"-machines", machines, hostFile, failing}, 1, "FAIL arm64/max        wrapper.exec"},
		"guest missing": {[]string{"-machines", machines, hostFile, filepath.Join(dir, "none.jsonl")}, 1, "missing: the run reported no result"},
		"malformed":     {[]string{"-machines", machines, hostFile, bad}, 2, "bad.jsonl: bad e2e result: line 1"},
		"no machines":   {[]string{hostFile}, 2, "-machines is required"},
		"bad machine":   {[]string{"-machines", "arm64"}, 2, `machine "arm64"`},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			all := stdout.String() + stderr.String()
			if code != tc.code || !strings.Contains(all, tc.mentions) {
				t.Fatalf("exit %d (want %d), output:\n%s", code, tc.code, all)
			}
		})
	}
	// The judged file holds every expected check once.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := e2e.Parse(bytes.NewReader(b))
	if err != nil || len(rs) != len(e2e.Checks(host))+len(e2e.Checks(guest)) {
		t.Fatalf("results file: %d results, %v", len(rs), err)
	}
}
