package e2e

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func line(arch, cpu, check string, pass bool) string {
	var b bytes.Buffer
	if err := (Result{Arch: arch, CPU: cpu, Kernel: "7.3.4-hwcap", Check: check, Pass: pass, Detail: "seen"}).Encode(&b); err != nil {
		panic(err)
	}
	return b.String()
}

// allOf returns a passing line for every check machine m must report.
func allOf(m Machine) string {
	var b strings.Builder
	for _, c := range Checks(m) {
		b.WriteString(line(m.Arch, m.CPU, c, true))
	}
	return b.String()
}

func TestParse(t *testing.T) {
	good := line("arm64", "max", CheckShimInit, true) + "\n  \n" + line("amd64", "host", CheckProbeHost, false)
	rs, err := Parse(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Check != CheckShimInit || !rs[0].Pass || rs[1].Pass || rs[1].CPU != "host" {
		t.Fatalf("got %+v", rs)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"unknown field":  {`{"arch":"arm64","cpu":"max","kernel":"k","check":"probe","pass":true,"detail":"d","extra":1}`, `line 1: json: unknown field "extra"`},
		"two values":     {`{"arch":"arm64","cpu":"max","kernel":"k","check":"probe","pass":true,"detail":"d"} {}`, "line 1: more than one JSON value"},
		"not json":       {"PASS probe", "line 1: invalid character"},
		"bad arch":       {`{"arch":"ARM","cpu":"max","kernel":"k","check":"probe","pass":true,"detail":"d"}`, `arch "ARM"`},
		"bad cpu":        {`{"arch":"arm64","cpu":"max cpu","kernel":"k","check":"probe","pass":true,"detail":"d"}`, `cpu "max cpu"`},
		"bad check":      {`{"arch":"arm64","cpu":"max","kernel":"k","check":"Shim Init","pass":true,"detail":"d"}`, `check "Shim Init"`},
		"empty detail":   {`{"arch":"arm64","cpu":"max","kernel":"k","check":"probe","pass":true,"detail":" "}`, "check probe: empty detail"},
		"negative secs":  {`{"arch":"arm64","cpu":"max","kernel":"k","check":"probe","pass":true,"detail":"d","seconds":-1}`, "negative seconds"},
		"pass a string":  {`{"arch":"arm64","cpu":"max","kernel":"k","check":"probe","pass":"yes","detail":"d"}`, "line 1: json: cannot unmarshal string"},
		"second line":    {line("arm64", "max", "probe", true) + "{", "line 2:"},
		"line too long":  {`{"detail":"` + strings.Repeat("x", maxLine) + `"}`, "line 1: bufio.Scanner: token too long"},
		"array not line": {`[]`, "line 1: json: cannot unmarshal array"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			if !errors.Is(err, ErrBadResult) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrBadResult containing %q", err, tc.want)
			}
		})
	}
}

func TestParseMachine(t *testing.T) {
	m, err := ParseMachine("arm64/neoverse-n1")
	if err != nil || m != (Machine{"arm64", "neoverse-n1"}) {
		t.Fatalf("got %v, %v", m, err)
	}
	for _, bad := range []string{"", "arm64", "arm64/", "/max", "riscv64/max", "arm64/max cpu", "arm64/max/x"} {
		if _, err := ParseMachine(bad); !errors.Is(err, ErrBadResult) || !strings.Contains(err.Error(), "machine \""+bad+"\"") {
			t.Errorf("ParseMachine(%q) = %v, want an error naming it", bad, err)
		}
	}
}

func TestChecks(t *testing.T) {
	full := Machine{"arm64", "max"}
	for _, m := range []Machine{{"amd64", "max"}, full, {"arm64", "neoverse-n1"}, {"amd64", HostCPU}, {"arm64", HostCPU}} {
		seen := map[string]bool{}
		cs := Checks(m)
		if len(cs) == 0 {
			t.Errorf("%s: no checks", m)
		}
		for _, c := range cs {
			if seen[c] || !checkRE.MatchString(c) {
				t.Errorf("%s: check %q repeated or malformed", m, c)
			}
			seen[c] = true
			if m.CPU != HostCPU && !Runs(full, c) {
				t.Errorf("%s: check %q is not one of the full arm64 guest's", m, c)
			}
		}
	}
	// The acceptance items of issue 5, per architecture.
	for _, c := range []string{CheckProbe, CheckShimGrandchild, CheckShimProfile, CheckShimCannotAdd,
		CheckWrapperExec, CheckWrapperNone, CheckHookWrapper, CheckHookPlain} {
		for _, arch := range []string{"amd64", "arm64"} {
			if !Runs(Machine{arch, "max"}, c) {
				t.Errorf("%s/max does not run %s", arch, c)
			}
		}
	}
	for _, c := range []string{CheckDispatchUnmasked, CheckDispatchShim, CheckDispatchWrapper} {
		if !Runs(full, c) || Runs(Machine{"amd64", "max"}, c) {
			t.Errorf("%s: want it on arm64 only", c)
		}
	}
	if got := Checks(Machine{"amd64", HostCPU}); len(got) != 1 || got[0] != CheckProbeHost {
		t.Errorf("host checks %v", got)
	}
}

func TestJudge(t *testing.T) {
	ms := []Machine{{"amd64", HostCPU}, {"amd64", "max"}, {"arm64", "max"}}
	all := allOf(ms[0]) + allOf(ms[1]) + allOf(ms[2])
	parse := func(s string) []Result {
		t.Helper()
		rs, err := Parse(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	v := Judge(parse(all), ms)
	if !v.OK() || v.Failed != 0 || v.Passed != len(v.Results) {
		t.Fatalf("all passing: %+v", v)
	}
	if v := Judge(nil, ms); v.OK() || v.Missing != v.Failed || v.Passed != 0 {
		t.Fatalf("nothing reported: ok=%t missing=%d failed=%d", v.OK(), v.Missing, v.Failed)
	}
	if v := Judge(nil, nil); v.OK() {
		t.Fatal("no machines and no results must not pass")
	}
	for name, tc := range map[string]struct {
		in       string
		failed   int
		missing  int
		mentions string
	}{
		"one fails":       {strings.Replace(all, `"check":"shim.child","pass":true`, `"check":"shim.child","pass":false`, 1), 1, 0, "FAIL amd64/max"},
		"one missing":     {strings.Replace(all, line("arm64", "max", CheckDispatchWrapper, true), "", 1), 1, 1, "missing: the run reported no result"},
		"guest died":      {allOf(ms[0]) + allOf(ms[1]), len(Checks(ms[2])), len(Checks(ms[2])), "arm64/max"},
		"reported twice":  {all + line("arm64", "max", CheckProbe, true), 1, 0, "reported twice"},
		"unexpected":      {all + line("amd64", "max", CheckDispatchShim, true), 1, 0, "not an expected check of amd64/max"},
		"unknown machine": {all + line("arm64", "a64fx", CheckProbe, true), 1, 0, "not an expected check of arm64/a64fx"},
	} {
		t.Run(name, func(t *testing.T) {
			v := Judge(parse(tc.in), ms)
			var sum bytes.Buffer
			v.Summary(&sum)
			if v.OK() || v.Failed != tc.failed || v.Missing != tc.missing || !strings.Contains(sum.String(), tc.mentions) {
				t.Fatalf("failed=%d missing=%d (want %d, %d), summary:\n%s", v.Failed, v.Missing, tc.failed, tc.missing, sum.String())
			}
			if !strings.Contains(sum.String(), "failed") {
				t.Fatalf("summary lacks totals:\n%s", sum.String())
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(line("arm64", "max", CheckProbe, true))
	f.Add(`{"arch":"amd64","cpu":"host","kernel":"6.18","check":"probe.host","pass":false,"detail":"x","seconds":1.5}`)
	f.Add("{}\n\n[]")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := Parse(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrBadResult) {
				t.Fatalf("error %v is not ErrBadResult", err)
			}
			return
		}
		// What parses encodes and parses again to the same.
		var b bytes.Buffer
		for _, r := range rs {
			if err := r.Encode(&b); err != nil {
				t.Fatal(err)
			}
		}
		again, err := Parse(&b)
		if err != nil || len(again) != len(rs) {
			t.Fatalf("round trip: %v, %d vs %d", err, len(again), len(rs))
		}
		for i := range rs {
			if again[i] != rs[i] {
				t.Fatalf("round trip: %+v vs %+v", again[i], rs[i])
			}
		}
	})
}
