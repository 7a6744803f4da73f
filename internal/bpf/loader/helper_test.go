package loader

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// envHelper makes the test binary a helper process instead (TestMain).
const envHelper = "HWCAP_BPF_TEST_HELPER"

func init() {
	if os.Getenv(envHelper) != "" {
		// Keep the main goroutine on the main thread (the leader), so
		// that the helper's other goroutine runs on another thread.
		runtime.LockOSThread()
	}
}

// helperThreads: a process whose non-leader thread, started before the
// mask was set on the process (through the leader's pidfd), forks and
// execs a child. Protocol: prints "PID TID" of that thread, reads a line
// from stdin, starts /bin/sh -c 'echo $$', passes its output on, exits.
func helperThreads() int {
	ready := make(chan int)
	start := make(chan struct{})
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		ready <- unix.Gettid()
		<-start
		cmd := exec.Command("/bin/sh", "-c", "echo $$")
		cmd.Stdout = os.Stdout
		done <- cmd.Run()
	}()
	tid := <-ready
	fmt.Printf("%d %d\n", os.Getpid(), tid)
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return 1
	}
	close(start)
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
