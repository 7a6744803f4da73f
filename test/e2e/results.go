package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Result is one check's outcome: one JSON line of results.jsonl.
type Result struct {
	Arch   string `json:"arch"`   // GOARCH of the machine the check ran on: amd64, arm64
	CPU    string `json:"cpu"`    // QEMU -cpu model, or "host"
	Kernel string `json:"kernel"` // uname -r where the check ran
	Check  string `json:"check"`  // a name from Checks
	Pass   bool   `json:"pass"`
	Detail string `json:"detail"` // what was seen (and wanted, on failure)
	// Seconds is the wall time of the check's container runs, when it had any.
	Seconds float64 `json:"seconds,omitempty"`
}

// Machine identifies one guest (or the host) of an e2e run.
type Machine struct {
	Arch string
	CPU  string
}

func (m Machine) String() string { return m.Arch + "/" + m.CPU }

// ParseMachine reads "arch/cpu", e.g. "arm64/max".
func ParseMachine(s string) (Machine, error) {
	arch, cpu, ok := strings.Cut(s, "/")
	if !ok || !archRE.MatchString(arch) || !cpuRE.MatchString(cpu) {
		return Machine{}, fmt.Errorf("%w: machine %q: want ARCH/CPU, e.g. arm64/max or amd64/host", ErrBadResult, s)
	}
	if _, ok := checksByArch[arch]; !ok {
		return Machine{}, fmt.Errorf("%w: machine %q: unknown arch %q (want amd64 or arm64)", ErrBadResult, s, arch)
	}
	return Machine{Arch: arch, CPU: cpu}, nil
}

// ErrBadResult marks a malformed results file or argument.
var ErrBadResult = errors.New("bad e2e result")

var (
	archRE  = regexp.MustCompile(`^[a-z0-9]{2,16}$`)
	cpuRE   = regexp.MustCompile(`^[A-Za-z0-9_.,=+-]{1,64}$`)
	checkRE = regexp.MustCompile(`^[a-z0-9]+(?:[.-][a-z0-9]+)*$`)
)

// maxLine bounds one results line (a detail lists a few processes' words).
const maxLine = 64 << 10

// Parse reads results in JSON Lines form. Every line must be one object
// with exactly the fields of Result, a known arch, a well-formed check name
// and a non-empty detail; blank lines are skipped. The error names the
// line and the problem.
func Parse(r io.Reader) ([]Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var out []Result
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var res Result
		if err := dec.Decode(&res); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadResult, n, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%w: line %d: more than one JSON value", ErrBadResult, n)
		}
		if err := res.validate(); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadResult, n, err)
		}
		out = append(out, res)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: line %d: %w", ErrBadResult, n+1, err)
	}
	return out, nil
}

func (r Result) validate() error {
	switch {
	case !archRE.MatchString(r.Arch):
		return fmt.Errorf("arch %q: want amd64 or arm64", r.Arch)
	case !cpuRE.MatchString(r.CPU):
		return fmt.Errorf("cpu %q: want a QEMU model name or host", r.CPU)
	case !checkRE.MatchString(r.Check):
		return fmt.Errorf("check %q: want lower-case words joined by . or -", r.Check)
	case strings.TrimSpace(r.Detail) == "":
		return fmt.Errorf("check %s: empty detail", r.Check)
	case r.Seconds < 0:
		return fmt.Errorf("check %s: negative seconds", r.Check)
	}
	return nil
}

// Encode writes r as one JSON line.
func (r Result) Encode(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Verdict is the judgement over a whole run.
type Verdict struct {
	// Results holds the results as given, a result reported twice or not
	// expected turned into a failure, then one failure per missing check.
	Results []Result
	Passed  int
	Failed  int
	Missing int
}

// OK reports whether every expected check ran once and passed.
func (v Verdict) OK() bool { return v.Failed == 0 && v.Passed > 0 }

// Judge compares results with the checks expected of each machine: a check
// that is missing (the guest died, or skipped it) counts as a failure, and
// so does a check reported twice or not in the list (the guest and this
// package out of step).
func Judge(results []Result, machines []Machine) Verdict {
	want := map[string]bool{}
	var order []string
	for _, m := range machines {
		for _, c := range Checks(m) {
			k := m.String() + " " + c
			if !want[k] {
				order = append(order, k)
			}
			want[k] = true
		}
	}
	var v Verdict
	seen := map[string]bool{}
	for _, r := range results {
		key := Machine{r.Arch, r.CPU}.String() + " " + r.Check
		switch {
		case seen[key]:
			r.Pass = false
			r.Detail = "reported twice: " + r.Detail
		case !want[key]:
			r.Pass = false
			r.Detail = "not an expected check of " + Machine{r.Arch, r.CPU}.String() + ": " + r.Detail
		}
		seen[key] = true
		v.add(r)
	}
	for _, k := range order {
		if seen[k] {
			continue
		}
		machine, check, _ := strings.Cut(k, " ")
		arch, cpu, _ := strings.Cut(machine, "/")
		v.Missing++
		v.add(Result{Arch: arch, CPU: cpu, Check: check, Pass: false,
			Detail: "missing: the run reported no result for this check"})
	}
	return v
}

func (v *Verdict) add(r Result) {
	v.Results = append(v.Results, r)
	if r.Pass {
		v.Passed++
	} else {
		v.Failed++
	}
}

// Summary writes a human table: one line per result, then the totals.
func (v Verdict) Summary(w io.Writer) {
	for _, r := range v.Results {
		mark := "PASS"
		if !r.Pass {
			mark = "FAIL"
		}
		secs := ""
		if r.Seconds > 0 {
			secs = fmt.Sprintf(" [%.1fs]", r.Seconds)
		}
		fmt.Fprintf(w, "%s %-16s %-20s %s%s\n", mark, Machine{r.Arch, r.CPU}, r.Check, r.Detail, secs)
	}
	fmt.Fprintf(w, "e2e: %d passed, %d failed", v.Passed, v.Failed)
	if v.Missing > 0 {
		fmt.Fprintf(w, " (%d of them missing)", v.Missing)
	}
	fmt.Fprintln(w)
}
