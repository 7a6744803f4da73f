package bpf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BTFFile is the kernel's own BTF, which CO-RE relocations are resolved
// against.
const BTFFile = "/sys/kernel/btf/vmlinux"

// bpffsMagic is BPF_FS_MAGIC (linux/magic.h).
const bpffsMagic = 0xcafe4a11

// Check says whether the backend can be installed in mode under dir on this
// kernel, as the first problem found: a one-line error wrapping one of
// ErrUnsupported, ErrCapability, ErrNoBTF, ErrLockdown or ErrNoBPFFS,
// checked in that order. The checks are cheap and read only.
func Check(dir string, mode Mode) error { return CheckWith(dir, mode, nil) }

// CheckWith is Check with a further kernel check (the loader's probe for
// BPF task storage, which needs cilium/ebpf) run after the BTF check; its
// error is returned as it is.
func CheckWith(dir string, mode Mode, kernel func() error) error {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		return fmt.Errorf("%w: the BPF backend reads and writes 64-bit auxiliary vectors; this is a 32-bit build", ErrUnsupported)
	}
	if err := checkCaps(mode); err != nil {
		return err
	}
	if _, err := os.Stat(BTFFile); err != nil {
		return fmt.Errorf("%w: %s is missing (the kernel must be built with CONFIG_DEBUG_INFO_BTF=y; Debian, Ubuntu, Fedora and RHEL kernels are)", ErrNoBTF, BTFFile)
	}
	if kernel != nil {
		if err := kernel(); err != nil {
			return err
		}
	}
	if mode == ModeWrite {
		// Unknown (err != nil): the load decides, and loadError explains
		// its refusal.
		if lvl, err := Lockdown(); err == nil && lvl != "none" {
			return LockdownError(lvl)
		}
	}
	// Last: of all the causes, a missing mount is the easiest to fix, and
	// fixing it must not merely uncover one that cannot be fixed.
	return checkBPFFS(dir)
}

// LockdownError is the one-line refusal for lockdown level lvl.
func LockdownError(lvl string) error {
	return fmt.Errorf("%w: lockdown is %q (%s), so the kernel refuses the helper that rewrites AT_HWCAP on a new program's stack; distribution kernels lock down only under UEFI Secure Boot (boot with it off), or use a kernel with the HWCAP inheritance series",
		ErrLockdown, lvl, LockdownFile)
}

// MayUse reports whether this process holds a capability that lets it use
// the installed backend's maps (CAP_BPF or CAP_SYS_ADMIN).
func MayUse() bool {
	eff, err := effectiveCaps()
	return err == nil && eff&(1<<capBPF|1<<capSysAdmin) != 0
}

// checkCaps: loading and attaching needs CAP_BPF and CAP_PERFMON (or
// CAP_SYS_ADMIN on kernels before 5.8); bpf_probe_write_user needs
// CAP_SYS_ADMIN.
func checkCaps(mode Mode) error {
	eff, err := effectiveCaps()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCapability, err)
	}
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	var missing []string
	if !has(capSysAdmin) {
		if mode == ModeWrite {
			missing = append(missing, "CAP_SYS_ADMIN (bpf_probe_write_user)")
		} else {
			if !has(capBPF) {
				missing = append(missing, "CAP_BPF")
			}
			if !has(capPerfmon) {
				missing = append(missing, "CAP_PERFMON")
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: loading the BPF backend needs %s (run as root; in Kubernetes, a privileged container)", ErrCapability, strings.Join(missing, " and "))
	}
	return nil
}

// checkBPFFS: dir must be on a bpffs (it may not exist yet; its parent
// then must be).
func checkBPFFS(dir string) error {
	probe := dir
	for {
		_, err := os.Stat(probe)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrNoBPFFS, err)
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	magic, err := fsMagic(probe)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoBPFFS, err)
	}
	if magic != bpffsMagic {
		mnt := filepath.Dir(dir)
		return fmt.Errorf("%w: %s is not on a bpf file system (mount it: mount -t bpf bpf %s; systemd mounts it at boot as sys-fs-bpf.mount; in Kubernetes mount the host's %s into the pod)", ErrNoBPFFS, dir, mnt, mnt)
	}
	return nil
}

// Release returns the kernel release (uname -r).
func Release() string { return release() }

func release() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
