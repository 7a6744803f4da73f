package bpf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cgroup is a process's cgroup in the unified (v2) hierarchy.
type Cgroup struct {
	Path string // as in /proc/PID/cgroup, e.g. /system.slice/x.scope
	Dir  string // the directory under the cgroup2 mount
	ID   uint64 // what bpf_get_current_cgroup_id returns for its members
}

// CgroupOf returns process pid's cgroup v2 (on hybrid v1/v2 hosts, the
// unified hierarchy's: the one BPF sees). ErrNoCgroup when there is none.
func CgroupOf(pid int) (*Cgroup, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	path, ok := unifiedPath(b)
	if !ok {
		return nil, fmt.Errorf("%w: /proc/%d/cgroup has no \"0::\" line", ErrNoCgroup, pid)
	}
	mnt, err := Cgroup2Mount()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(mnt, filepath.FromSlash(path))
	id, err := cgroupID(dir)
	if err != nil {
		return nil, fmt.Errorf("cgroup of pid %d: %w", pid, err)
	}
	return &Cgroup{Path: path, Dir: dir, ID: id}, nil
}

// unifiedPath returns the path of the "0::PATH" line of a /proc/PID/cgroup.
func unifiedPath(b []byte) (string, bool) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if p, ok := bytes.CutPrefix(line, []byte("0::")); ok {
			s := string(p)
			// A process whose cgroup was removed shows " (deleted)".
			s = strings.TrimSuffix(s, " (deleted)")
			if !strings.HasPrefix(s, "/") {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}

// Cgroup2Mount returns where the cgroup v2 hierarchy is mounted with its
// root at the hierarchy's root (/sys/fs/cgroup, or /sys/fs/cgroup/unified
// on hybrid hosts), from /proc/self/mountinfo.
func Cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent maj:min root mountpoint options [optional...] - fstype source super
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 1 || qf[0] != "cgroup2" || pf[3] != "/" {
			continue
		}
		return unescapeMount(pf[4]), nil
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%w: no cgroup2 file system is mounted (mountinfo)", ErrNoCgroup)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupsAlive says which of ids still exist: by handle when permitted,
// else by walking the hierarchy.
func cgroupsAlive(ids []uint64) (map[uint64]bool, error) {
	mnt, err := Cgroup2Mount()
	if err != nil {
		return nil, err
	}
	alive := map[uint64]bool{}
	for _, id := range ids {
		ok, err := cgroupAlive(mnt, id)
		if err == nil {
			alive[id] = ok
			continue
		}
		if !errors.Is(err, unix.EPERM) {
			return nil, err
		}
		// No CAP_DAC_READ_SEARCH: collect every id once, by walking.
		all, werr := walkCgroups(mnt)
		if werr != nil {
			return nil, werr
		}
		for _, x := range ids {
			alive[x] = all[x] != ""
		}
		return alive, nil
	}
	return alive, nil
}

// walkCgroups maps every cgroup id below mnt to its path.
func walkCgroups(mnt string) (map[uint64]string, error) {
	out := map[uint64]string{}
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		id, err := cgroupID(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		out[id] = "/" + filepath.ToSlash(strings.TrimPrefix(rel, "."))
		return nil
	})
	return out, err
}
