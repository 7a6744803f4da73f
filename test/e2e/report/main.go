// Command report merges the results.jsonl files of an e2e run, judges them
// against the checks each machine must report (a missing check fails), and
// writes the merged results plus a human summary.
//
//	report -machines amd64/host,amd64/max,arm64/max -o results.jsonl FILE...
//
// A FILE that does not exist counts as a machine that reported nothing.
// Exit status: 0 every expected check passed, 1 some failed or are
// missing, 2 bad usage or a malformed results file.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/hwcap/hwcap/test/e2e"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("report", flag.ContinueOnError)
	fl.SetOutput(stderr)
	machines := fl.String("machines", "", "comma-separated `ARCH/CPU` list of the machines that must report")
	out := fl.String("o", "", "write the judged results (JSON lines) to `file`")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *machines == "" {
		fmt.Fprintln(stderr, "report: -machines is required, e.g. -machines amd64/host,arm64/max")
		return 2
	}
	var ms []e2e.Machine
	for _, s := range strings.Split(*machines, ",") {
		m, err := e2e.ParseMachine(s)
		if err != nil {
			fmt.Fprintf(stderr, "report: -machines: %v\n", err)
			return 2
		}
		ms = append(ms, m)
	}
	var all []e2e.Result
	for _, path := range fl.Args() {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "report: %s: no such file (its machine reported nothing)\n", path)
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 2
		}
		rs, err := e2e.Parse(bytes.NewReader(b))
		if err != nil {
			fmt.Fprintf(stderr, "report: %s: %v\n", path, err)
			return 2
		}
		all = append(all, rs...)
	}
	v := e2e.Judge(all, ms)
	if *out != "" {
		var b bytes.Buffer
		for _, r := range v.Results {
			if err := r.Encode(&b); err != nil {
				fmt.Fprintf(stderr, "report: %v\n", err)
				return 2
			}
		}
		if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 2
		}
	}
	v.Summary(stdout)
	if !v.OK() {
		return 1
	}
	return 0
}
