// Command hwcap-runtime is an OCI runtime wrapper: configure it wherever
// runc is configured. It masks AT_HWCAP* for create, run, restore and exec
// and execs the real runtime with its argv unchanged. See internal/wrapper.
package main

import (
	"os"
	"runtime"

	"github.com/hwcap/hwcap/internal/probe"
	"github.com/hwcap/hwcap/internal/wrapper"
)

func init() {
	// The main goroutine stays on the main thread, which execs the real
	// runtime: the eBPF backend keeps a process's mask on that thread
	// (set through the process's pidfd), and the thread that calls execve
	// is the one whose mask the new program gets.
	runtime.LockOSThread()
}

func main() {
	probe.MaybeChild()
	os.Exit(wrapper.Main())
}
