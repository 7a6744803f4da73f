package bpf

import (
	"encoding/binary"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// The raw system calls of this package (the bpf(2) calls themselves are
// cilium/ebpf's). Each is wrapped once, retries EINTR and names itself in
// its error.

func retryEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// pidfdOpen returns a pidfd for pid: the key of the task storage map, and
// a reference that cannot be fooled by pid reuse.
func pidfdOpen(pid int) (int, error) {
	var fd int
	err := retryEINTR(func() (err error) { fd, err = unix.PidfdOpen(pid, 0); return err })
	if err != nil {
		return -1, os.NewSyscallError("pidfd_open", err)
	}
	return fd, nil
}

// fsMagic returns the statfs f_type of the file system holding path.
func fsMagic(path string) (int64, error) {
	var st unix.Statfs_t
	err := retryEINTR(func() error { return unix.Statfs(path, &st) })
	if err != nil {
		return 0, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	return int64(st.Type), nil
}

// fileidKernfs is FILEID_KERNFS: cgroupfs file handles carry the 64-bit
// kernfs node id, which is the cgroup id bpf_get_current_cgroup_id returns.
const fileidKernfs = 0xfe

// cgroupID returns the id of the cgroup directory path.
func cgroupID(path string) (uint64, error) {
	var h unix.FileHandle
	err := retryEINTR(func() (err error) { h, _, err = unix.NameToHandleAt(unix.AT_FDCWD, path, 0); return err })
	if err != nil {
		return 0, &os.PathError{Op: "name_to_handle_at", Path: path, Err: err}
	}
	b := h.Bytes()
	if h.Type() != fileidKernfs || len(b) != 8 {
		return 0, &os.PathError{Op: "name_to_handle_at", Path: path, Err: errors.New("not a cgroup v2 directory (no kernfs file handle)")}
	}
	return binary.NativeEndian.Uint64(b), nil
}

// cgroupAlive reports whether cgroup id still exists below the cgroup2
// mount at mnt, by opening it by handle (needs CAP_DAC_READ_SEARCH).
func cgroupAlive(mnt string, id uint64) (bool, error) {
	mfd, err := unix.Open(mnt, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &os.PathError{Op: "open", Path: mnt, Err: err}
	}
	defer unix.Close(mfd)
	b := make([]byte, 8)
	binary.NativeEndian.PutUint64(b, id)
	var fd int
	err = retryEINTR(func() (err error) {
		fd, err = unix.OpenByHandleAt(mfd, unix.NewFileHandle(fileidKernfs, b), unix.O_RDONLY|unix.O_CLOEXEC)
		return err
	})
	switch {
	case err == nil:
		unix.Close(fd)
		return true, nil
	case errors.Is(err, unix.ESTALE), errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, os.NewSyscallError("open_by_handle_at", err)
}

// Capabilities hwcap's backend needs (linux/capability.h).
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// effectiveCaps returns the calling thread's effective capability set.
func effectiveCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, os.NewSyscallError("capget", err)
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}
