package wrapper

import (
	"errors"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
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

// spawn runs the real runtime as a child, as execve would have run it:
// the same argv and environment, and every descriptor this process
// inherited without close-on-exec at the same number (standard streams,
// a console socket, --preserve-fds). Signals this process gets while it
// waits (a caller's SIGTERM) are passed on. It returns the child's exit
// code, 128+N when a signal N ended it.
func spawn(path string, argv, env []string) (int, error) {
	fds, err := inheritedFDs()
	if err != nil {
		return 0, err
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: fds})
	if err != nil {
		return 0, err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = syscall.Kill(pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// inheritedFDs lists descriptors 0..N for ForkExec: each open descriptor
// without close-on-exec keeps its number, the others are closed in the
// child (^uintptr(0)), as execve would leave them.
func inheritedFDs() ([]uintptr, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	keep := map[int]bool{}
	hi := 2
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || (fd > 2 && flags&unix.FD_CLOEXEC != 0) {
			continue
		}
		keep[fd] = true
		hi = max(hi, fd)
	}
	fds := make([]uintptr, hi+1)
	for i := range fds {
		fds[i] = ^uintptr(0)
		if keep[i] {
			fds[i] = uintptr(i)
		}
	}
	return fds, nil
}
