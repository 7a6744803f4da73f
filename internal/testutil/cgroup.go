package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// RemoveCgroups removes every cgroup directory named name, at any depth
// of any hierarchy under /sys/fs/cgroup, children first, and returns how
// many such directories there were. A container's runtime removes its
// cgroups on delete; a test calls this after delete so that one that
// does not fails the test instead of leaving them to pile up on the
// machine. A cgroup that still has processes cannot be removed and still
// counts.
func RemoveCgroups(name string) int {
	var found []string
	_ = filepath.WalkDir(cgroupRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable or vanished: not ours to judge
		}
		if d.IsDir() && p != cgroupRoot && d.Name() == name {
			found = append(found, p)
			return filepath.SkipDir
		}
		return nil
	})
	for _, top := range found {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs) // children before parents
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	}
	return len(found)
}
