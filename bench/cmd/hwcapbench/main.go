// Command hwcapbench measures what hwcap costs per container against plain
// runc (make bench). See bench/internal/harness and docs/benchmarks.md.
package main

import (
	"os"

	"github.com/hwcap/hwcap/bench/internal/harness"
)

func main() { os.Exit(harness.Main(os.Args[1:], os.Stdout, os.Stderr)) }
