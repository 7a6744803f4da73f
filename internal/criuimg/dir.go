package criuimg

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// dirSource reads image files from a directory through an os.Root: a
// symlink that leads out of the directory is refused by the kernel
// (openat2 RESOLVE_BENEATH), FIFOs do not block (O_NONBLOCK) and only
// regular files within the size limits are read.
type dirSource struct {
	root *os.Root
	dir  string
	lim  Limits
	kept int64
}

func (d *dirSource) get(name string) ([]byte, bool, error) {
	f, err := d.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrNotCheckpoint, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrNotCheckpoint, err)
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%w: %s/%s: not a regular file (%s)", ErrBadImage, d.dir, name, st.Mode().Type())
	}
	if st.Size() > d.lim.FileSize {
		return nil, false, fmt.Errorf("%w: %s/%s: %d bytes, more than %d", ErrTooLarge, d.dir, name, st.Size(), d.lim.FileSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, d.lim.FileSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %s/%s: %w", ErrNotCheckpoint, d.dir, name, err)
	}
	if int64(len(b)) > d.lim.FileSize {
		return nil, false, fmt.Errorf("%w: %s/%s: more than %d bytes", ErrTooLarge, d.dir, name, d.lim.FileSize)
	}
	if d.kept += int64(len(b)); d.kept > d.lim.TotalKept {
		return nil, false, fmt.Errorf("%w: %s: image files needed exceed %d bytes", ErrTooLarge, d.dir, d.lim.TotalKept)
	}
	return b, true, nil
}

// ReadDir reads a CRIU image directory (criu dump -D DIR, runc checkpoint
// --image-path DIR).
func ReadDir(dir string, lim Limits) (*Checkpoint, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCheckpoint, err)
	}
	defer root.Close()
	cp, err := build(&dirSource{root: root, dir: dir, lim: lim.withDefaults()}, lim.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	cp.Source, cp.Format = dir, "directory"
	return cp, nil
}

// Open reads a checkpoint from path: a CRIU image directory, or a
// checkpoint archive file ("-" reads the archive from stdin).
func Open(path string, stdin io.Reader, lim Limits) (*Checkpoint, error) {
	if path == "-" {
		return ReadArchive(stdin, "-", lim)
	}
	// O_NONBLOCK: a FIFO must not block the open; the mode check below
	// then refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCheckpoint, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotCheckpoint, err)
	}
	switch {
	case st.IsDir():
		return ReadDir(path, lim)
	case st.Mode().IsRegular():
		return ReadArchive(f, path, lim)
	}
	return nil, fmt.Errorf("%w: %s: a %s (want a CRIU image directory or a checkpoint archive file)", ErrNotCheckpoint, path, st.Mode().Type())
}
