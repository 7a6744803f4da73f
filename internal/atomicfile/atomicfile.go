package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, mode perm: it writes a temporary file
// in the same directory (".NAME.tmp-*": hidden, so directory scanners such
// as nfd-worker skip it, and on the same file system, so the rename is
// atomic), fsyncs it, renames it over path and fsyncs the directory so
// that the rename itself is durable. On error the temporary file is
// removed and path keeps its old content, except when only the final
// directory fsync fails: the new content is then in place but may not
// survive a crash. The directory must exist. Whatever path named before
// (a regular file, a symlink, a FIFO planted in a run directory) is
// replaced by the new regular file; a directory there is an error. Callers
// that must refuse a special file as output say so before any work
// (hwcapctl's -o).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := writeFile(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	if cerr := d.Close(); serr == nil {
		serr = cerr
	}
	return serr
}
