package wrapper

import (
	"errors"
	"syscall"
)

// execve replaces this process with the real runtime, so that the
// runtime's PID is the one the caller started (containerd's shim and
// podman wait on it) and the masked auxiliary vector is what the kernel
// passes on. EINTR cannot happen for execve; EAGAIN (RLIMIT_NPROC on a
// set*id) is retried like the Go runtime does.
func execve(path string, argv, env []string) error {
	for {
		err := syscall.Exec(path, argv, env)
		if !errors.Is(err, syscall.EAGAIN) {
			return err
		}
	}
}
