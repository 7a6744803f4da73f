// Command hwcap-runtime is an OCI runtime wrapper: configure it wherever
// runc is configured. It masks AT_HWCAP* for create, run, restore and exec
// and execs the real runtime with its argv unchanged. See internal/wrapper.
package main

import (
	"os"

	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/wrapper"
)

func main() {
	probe.MaybeChild()
	os.Exit(wrapper.Main())
}
