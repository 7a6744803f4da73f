package bpf

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The raw system calls of this package. Each is wrapped once, retries
// EINTR and names itself in its error.

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
// CgroupID returns the id of the cgroup v2 directory path.
func CgroupID(path string) (uint64, error) { return cgroupID(path) }

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

// The bpf(2) commands the node's hwcap binaries use on an installed
// backend: open pinned objects, read and write map elements, read program
// and link info. They are a dozen lines each, and keeping cilium/ebpf (with
// its ELF, BTF, DWARF and compression packages, some forty package
// initialisers) out of hwcap-hook, hwcap-shim and hwcap-runtime keeps
// their start, which every container pays, as it was. Loading the
// programs is internal/bpf/loader's, with cilium/ebpf.

// bpf(2) commands (linux/bpf.h).
const (
	cmdMapLookupElem = 1
	cmdMapUpdateElem = 2
	cmdMapDeleteElem = 3
	cmdMapGetNextKey = 4
	cmdObjGet        = 7
	cmdProgGetFDByID = 13
	cmdObjGetInfo    = 15
)

// ErrKeyNotExist: the map has no element for the key.
var ErrKeyNotExist = errors.New("key does not exist")

func bpfCall(cmd int, attr unsafe.Pointer, size uintptr) (uintptr, error) {
	for {
		r, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
		runtime.KeepAlive(attr)
		if errno == unix.EINTR || errno == unix.EAGAIN {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return r, nil
	}
}

// objGet opens a pinned object (BPF_OBJ_GET) and returns its fd.
func objGet(path string) (int, error) {
	p, err := unix.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	attr := struct {
		pathname uint64
		bpfFD    uint32
		flags    uint32
	}{pathname: uint64(uintptr(unsafe.Pointer(p)))}
	fd, err := bpfCall(cmdObjGet, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(p)
	if err != nil {
		return -1, &os.PathError{Op: "bpf(BPF_OBJ_GET)", Path: path, Err: err}
	}
	unix.CloseOnExec(int(fd))
	return int(fd), nil
}

// mapElem is the attr of the map element commands.
type mapElem struct {
	mapFD uint32
	_     uint32
	key   uint64
	value uint64 // next_key for BPF_MAP_GET_NEXT_KEY
	flags uint64
}

func mapOp(cmd, fd int, key, value []byte, flags uint64) error {
	attr := mapElem{mapFD: uint32(fd), flags: flags}
	if len(key) > 0 {
		attr.key = uint64(uintptr(unsafe.Pointer(&key[0])))
	}
	if len(value) > 0 {
		attr.value = uint64(uintptr(unsafe.Pointer(&value[0])))
	}
	_, err := bpfCall(cmd, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	if errors.Is(err, unix.ENOENT) {
		return ErrKeyNotExist
	}
	if err != nil {
		return os.NewSyscallError(map[int]string{cmdMapLookupElem: "bpf(BPF_MAP_LOOKUP_ELEM)", cmdMapUpdateElem: "bpf(BPF_MAP_UPDATE_ELEM)",
			cmdMapDeleteElem: "bpf(BPF_MAP_DELETE_ELEM)", cmdMapGetNextKey: "bpf(BPF_MAP_GET_NEXT_KEY)"}[cmd], err)
	}
	return nil
}

// objInfo fills info (struct bpf_prog_info, bpf_map_info or bpf_link_info,
// or a prefix of it) for fd.
func objInfo(fd int, info []byte) error {
	attr := struct {
		fd   uint32
		len  uint32
		info uint64
	}{fd: uint32(fd), len: uint32(len(info)), info: uint64(uintptr(unsafe.Pointer(&info[0])))}
	_, err := bpfCall(cmdObjGetInfo, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(info)
	if err != nil {
		return os.NewSyscallError("bpf(BPF_OBJ_GET_INFO_BY_FD)", err)
	}
	return nil
}

// progFD opens the program with id (BPF_PROG_GET_FD_BY_ID).
func progFD(id uint32) (int, error) {
	attr := struct {
		id, next, flags uint32
	}{id: id}
	fd, err := bpfCall(cmdProgGetFDByID, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return -1, os.NewSyscallError("bpf(BPF_PROG_GET_FD_BY_ID)", err)
	}
	unix.CloseOnExec(int(fd))
	return int(fd), nil
}
