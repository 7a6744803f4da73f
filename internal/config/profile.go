package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// MaxProfileNameLen bounds a profile name (a DNS label's length).
const MaxProfileNameLen = 63

// CheckProfileName accepts plain identifiers: [a-z0-9][a-z0-9._-]*, at most
// 63 bytes. Names never contain a slash, so "../x" cannot leave the
// profile directory through the name itself.
func CheckProfileName(name string) error {
	const want = "want a plain name such as neoverse-n1: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 bytes"
	if name == "" || len(name) > MaxProfileNameLen {
		return fmt.Errorf("%w: bad profile name %.70q (%s)", ErrProfile, name, want)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == '-'
		}
		if !ok {
			return fmt.Errorf("%w: bad profile name %q: character %q (%s)", ErrProfile, name, rune(c), want)
		}
	}
	return nil
}

// LoadProfile reads ProfileDir/<name>.json. The file is opened through an
// os.Root on ProfileDir, so a symlink that leaves the directory (or any
// "..") is refused by the kernel (openat2 RESOLVE_BENEATH) rather than by a
// racy string check; only regular files are accepted, and the open is
// non-blocking so that a FIFO planted in the directory cannot hang the hook.
func (n *Node) LoadProfile(name string) (*hwcap.Profile, error) {
	if err := CheckProfileName(name); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(n.ProfileDir)
	if err != nil {
		return nil, fmt.Errorf("%w %q: profile directory: %w", ErrProfile, name, err)
	}
	defer root.Close()
	file := name + ".json"
	f, err := root.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%w %q: no file %s in %s (ask the node administrator for the profile names)", ErrProfile, name, file, n.ProfileDir)
		case isEscape(err):
			return nil, fmt.Errorf("%w %q: %s in %s is a symbolic link out of the profile directory (refused)", ErrProfile, name, file, n.ProfileDir)
		}
		return nil, fmt.Errorf("%w %q: %w", ErrProfile, name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrProfile, name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w %q: %s in %s is not a regular file (%s)", ErrProfile, name, file, n.ProfileDir, st.Mode().Type())
	}
	if st.Size() > hwcap.MaxProfileSize {
		return nil, fmt.Errorf("%w %q: %s is %d bytes, more than the limit of %d", ErrProfile, name, file, st.Size(), hwcap.MaxProfileSize)
	}
	p, err := hwcap.ParseProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %s: %w", ErrProfile, name, file, err)
	}
	return p, nil
}

// isEscape reports whether an os.Root open failed because the path would
// leave the root (os.Root reports "path escapes from parent"; openat2 with
// RESOLVE_BENEATH reports EXDEV, and a symlink loop ELOOP).
func isEscape(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent" {
		return true
	}
	return errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.ELOOP)
}
