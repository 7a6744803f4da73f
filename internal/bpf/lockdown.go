package bpf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LockdownFile is the kernel's lockdown state: "[none] integrity
// confidentiality", the active one in brackets.
const LockdownFile = "/sys/kernel/security/lockdown"

const securityfsDir = "/sys/kernel/security"

// securityfsMagic is SECURITYFS_MAGIC (linux/magic.h).
const securityfsMagic = 0x73636673

// argv0Lockdown marks the re-execution that mounts securityfs in a private
// mount namespace to read the lockdown state (MaybeChild).
const argv0Lockdown = "hwcap-internal-lockdown"

// Lockdown returns the kernel's lockdown level: "none", "integrity" or
// "confidentiality". When securityfs is not mounted (as on this project's
// development machine and in most containers), it is read by a
// re-execution of this binary in a private mount namespace that mounts
// securityfs there, so the host's mounts are never changed. A kernel
// without the lockdown LSM is "none".
func Lockdown() (string, error) {
	b, err := os.ReadFile(LockdownFile)
	if err == nil {
		return parseLockdown(b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", LockdownFile, err)
	}
	if magic, serr := fsMagic(securityfsDir); serr == nil && magic == securityfsMagic {
		return "none", nil // securityfs without the lockdown LSM
	}
	return lockdownChild()
}

func parseLockdown(b []byte) (string, error) {
	s := strings.TrimSpace(string(b))
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return "", fmt.Errorf("%s: no active level in %q", LockdownFile, s)
	}
	switch lvl := s[i+1 : j]; lvl {
	case "none", "integrity", "confidentiality":
		return lvl, nil
	default:
		return "", fmt.Errorf("%s: unknown level %q", LockdownFile, lvl)
	}
}

func lockdownChild() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{argv0Lockdown}
	cmd.Env = []string{}
	cmd.Dir = "/"
	// Go marks / MS_REC|MS_PRIVATE after unsharing the mount namespace,
	// so the child's securityfs mount cannot propagate to the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("read the kernel lockdown state (securityfs is not mounted, and mounting it in a private mount namespace failed): %s", msg)
	}
	return parseLockdown(out.Bytes())
}

// MaybeChild runs this package's re-execution and exits if this process is
// one; otherwise it returns at once. probe.MaybeChild calls it.
func MaybeChild() {
	if len(os.Args) == 0 || os.Args[0] != argv0Lockdown {
		return
	}
	os.Exit(childLockdown())
}

func childLockdown() int {
	if err := unix.Mount("securityfs", securityfsDir, "securityfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		fmt.Fprintf(os.Stderr, "mount securityfs: %v\n", err)
		return 1
	}
	b, err := os.ReadFile(LockdownFile)
	if errors.Is(err, fs.ErrNotExist) {
		os.Stdout.WriteString("[none]\n") // no lockdown LSM
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Stdout.Write(b)
	return 0
}
