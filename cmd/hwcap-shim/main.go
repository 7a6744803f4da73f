// Command hwcap-shim masks the HWCAPs of itself and all its descendants,
// then execs a command. See internal/shim.
package main

import (
	"os"
	"runtime"

	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/shim"
)

func init() {
	// One thread, locked: the mask is applied to this process's mm and the
	// exec must come from the thread that checked it, as runc's init does.
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
}

func main() {
	probe.MaybeChild()
	os.Exit(shim.Main(os.Args[1:], os.Stderr))
}
