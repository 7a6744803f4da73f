package auxv

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// prctlMMMap is struct prctl_mm_map from include/uapi/linux/prctl.h.
type prctlMMMap struct {
	StartCode  uint64
	EndCode    uint64
	StartData  uint64
	EndData    uint64
	StartBrk   uint64
	Brk        uint64
	StartStack uint64
	ArgStart   uint64
	ArgEnd     uint64
	EnvStart   uint64
	EnvEnd     uint64
	Auxv       uint64 // user pointer to the vector
	AuxvSize   uint32
	ExeFD      uint32 // (u32)-1: keep /proc/self/exe
}

// retryEINTR runs fn until it returns something other than EINTR.
func retryEINTR(fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func prctlGetAuxv(buf []byte) (int, error) {
	var n int
	err := retryEINTR(func() error {
		var err error
		n, err = unix.PrctlRetInt(unix.PR_GET_AUXV, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		return err
	})
	if err != nil {
		return 0, os.NewSyscallError("prctl(PR_GET_AUXV)", err)
	}
	return n, nil
}

func prctlSetMMAuxv(b []byte) error {
	err := retryEINTR(func() error {
		return unix.Prctl(unix.PR_SET_MM, unix.PR_SET_MM_AUXV, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), 0)
	})
	if err != nil {
		return os.NewSyscallError("prctl(PR_SET_MM_AUXV)", err)
	}
	return nil
}

func prctlSetMMMap(m *prctlMMMap) error {
	err := retryEINTR(func() error {
		return unix.Prctl(unix.PR_SET_MM, unix.PR_SET_MM_MAP, uintptr(unsafe.Pointer(m)), unsafe.Sizeof(*m), 0)
	})
	if err != nil {
		return os.NewSyscallError("prctl(PR_SET_MM_MAP)", err)
	}
	return nil
}

// currentBrk returns the program break: brk(0) never fails, it returns the
// current break.
func currentBrk() uint64 {
	r, _, _ := unix.RawSyscall(unix.SYS_BRK, 0, 0, 0)
	return uint64(r)
}

// HasCapSysResource reports whether CAP_SYS_RESOURCE is in the effective set.
// (PR_SET_MM_AUXV checks it against the initial user namespace; inside a user
// namespace the bit may be set but useless, and the prctl says EPERM.)
func HasCapSysResource() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	const bit = unix.CAP_SYS_RESOURCE
	return data[bit/32].Effective&(1<<(bit%32)) != 0
}
