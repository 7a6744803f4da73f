// Command hwcapctl is the hwcap fleet tool; see internal/ctl.
package main

import (
	"os"

	"github.com/hwcap/hwcap/internal/ctl"
	"github.com/hwcap/hwcap/internal/probe"
)

func main() {
	// The kernel probe re-executes this binary; answer it before anything else.
	probe.MaybeChild()
	os.Exit(ctl.Main(os.Args[1:], os.Stdout, os.Stderr))
}
