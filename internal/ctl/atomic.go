package ctl

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data so that a reader (the hook, the
// shim, a config-management agent) sees the old file or the new one,
// never a part: temp file in the same directory, sync, rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := checkOutput(path); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkOutput refuses an output path that names a directory or another
// non-regular file, before any work is done.
func checkOutput(path string) error {
	if _, base := filepath.Split(path); base == "" {
		return usagef("output %q is a directory (want a file name)", path)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return usagef("output %q is a directory (want a file name)", path)
		}
		return usagef("output %q is not a regular file", path)
	}
	return nil
}
