package spec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Errors of the bounded file reader.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("larger than the limit")
)

// ReadRegular reads an untrusted file (a record, a front file): a regular file
// (a symlink in the last component, a FIFO or a device is refused, and
// opening one neither follows it nor blocks), at most limit bytes. It is
// the one bounded reader of the wrapper and the hook.
func ReadRegular(path string, limit int64) ([]byte, os.FileInfo, error) {
	return ReadRegularAt(unix.AT_FDCWD, path, limit)
}

// ReadRegularAt is ReadRegular for name relative to the directory dirfd.
func ReadRegularAt(dirfd int, name string, limit int64) ([]byte, os.FileInfo, error) {
	// O_NONBLOCK|O_NOCTTY: a FIFO or terminal planted in place of the file
	// fails the regular-file check below instead of blocking the open or
	// becoming the controlling terminal. O_NOFOLLOW: no symlink as the last
	// component (the earlier ones resolve as the kernel resolves them for
	// the runtime).
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, nil, fmt.Errorf("%s: %w (a symlink)", name, ErrNotRegular)
	}
	if err != nil {
		return nil, nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w", name, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("%s: %w of %d bytes", name, ErrTooLarge, limit)
	}
	return data, st, nil
}

// Bundle is a bundle's config file read the way the runtime reads it.
type Bundle struct {
	// Dir is the bundle directory's physical path (no symlink, no ".."),
	// checked to name the directory that was opened: what a runtime that
	// is given it as --bundle chdirs into.
	Dir string
	// Config is the config file's path: Dir/NAME, or NAME if absolute.
	Config string
	Data   []byte
	Info   os.FileInfo
}

// ReadBundle opens the bundle directory dir ("" = the current directory)
// as the kernel resolves it when the runtime chdirs into it (symlinks and
// ".." physically, not as text: with lnk -> deep/sub, "lnk/../b" is
// deep/b), then reads the config file name ("" = config.json) relative to
// that directory with ReadRegularAt and MaxConfigSize.
func ReadBundle(dir, name string) (*Bundle, error) {
	if dir == "" {
		dir = "."
	}
	if name == "" {
		name = "config.json"
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open bundle", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	phys, err := physicalPath(dfd)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	b := &Bundle{Dir: phys, Config: name}
	if !filepath.IsAbs(name) {
		b.Config = phys + "/" + name
		if phys == "/" {
			b.Config = "/" + name
		}
	}
	data, st, err := ReadRegularAt(dfd, name, MaxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", phys, err)
	}
	b.Data, b.Info = data, st
	return b, nil
}

// physicalPath returns the path the kernel reports for the directory dfd
// (/proc/self/fd/N), after checking that it resolves, without any
// symlink, to that same directory: a directory removed, renamed away or
// outside this process's root has no such path.
func physicalPath(dfd int) (string, error) {
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(dfd))
	if err != nil {
		return "", fmt.Errorf("resolve the directory: %w", err)
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("resolve the directory: the kernel names it %q", p)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		fd, err = unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return "", fmt.Errorf("its resolved path %s: %w", p, err)
	}
	defer unix.Close(fd)
	var a, b unix.Stat_t
	if err := unix.Fstat(dfd, &a); err != nil {
		return "", err
	}
	if err := unix.Fstat(fd, &b); err != nil {
		return "", err
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		return "", fmt.Errorf("its resolved path %s names another directory", p)
	}
	return p, nil
}
