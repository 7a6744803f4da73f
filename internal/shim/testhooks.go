//go:build hwcap_testhooks

package shim

import (
	"os"
	"strconv"
)

// With -tags hwcap_testhooks and HWCAP_TEST_PAUSE=FIFO, the shim writes its
// pid to FIFO once masked and blocks until something is written to
// FIFO.go, so that a test can read /proc/PID/auxv from outside before exec.
// Production builds never contain this file.
func init() {
	fifo := os.Getenv("HWCAP_TEST_PAUSE")
	if fifo == "" {
		return
	}
	os.Unsetenv("HWCAP_TEST_PAUSE")
	beforeExec = func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			f.Close()
		}
		if f, err := os.OpenFile(fifo+".go", os.O_RDONLY, 0); err == nil {
			b := make([]byte, 1)
			f.Read(b)
			f.Close()
		}
	}
}
