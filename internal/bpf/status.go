package bpf

import (
	"errors"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/hwcap/hwcap/internal/hwcap"
)

// ProgramStatus is one attached program.
type ProgramStatus struct {
	Link string `json:"link"` // pinned link file
	Name string `json:"name"`
	Tag  string `json:"tag"`
	ID   uint32 `json:"id"`
}

// TaskStatus is a process with a mask of its own.
type TaskStatus struct {
	PID  int         `json:"pid"`
	Comm string      `json:"comm"`
	Keep hwcap.Words `json:"-"`
	Mask string      `json:"mask"`
}

// CgroupStatus is a registered cgroup.
type CgroupStatus struct {
	ID    uint64      `json:"id"`
	Path  string      `json:"path,omitempty"` // "" when the cgroup is gone
	Stale bool        `json:"stale,omitempty"`
	Keep  hwcap.Words `json:"-"`
	Mask  string      `json:"mask"`
}

// Status is what `hwcapctl bpf status` shows.
type Status struct {
	Dir       string            `json:"dir"`
	Installed bool              `json:"installed"`
	Mode      Mode              `json:"mode,omitempty"`
	Kernel    string            `json:"kernel"`
	Lockdown  string            `json:"lockdown"`
	BTF       bool              `json:"btf"`
	Problem   string            `json:"problem,omitempty"` // why install (write mode) would fail here
	Programs  []ProgramStatus   `json:"programs,omitempty"`
	Pinned    []string          `json:"pinned,omitempty"`
	Tasks     []TaskStatus      `json:"tasks"`
	Cgroups   []CgroupStatus    `json:"cgroups"`
	Stats     map[string]uint64 `json:"stats,omitempty"`
}

// GetStatus describes the backend under dir and this kernel's fitness for
// it. Only a failure to read what is installed is an error.
func GetStatus(dir string) (*Status, error) {
	st := &Status{Dir: dir, Kernel: release(), Tasks: []TaskStatus{}, Cgroups: []CgroupStatus{}}
	if lvl, err := Lockdown(); err != nil {
		st.Lockdown = "unknown (" + err.Error() + ")"
	} else {
		st.Lockdown = lvl
	}
	_, err := os.Stat(BTFFile)
	st.BTF = err == nil
	if err := Check(dir, ModeWrite); err != nil {
		st.Problem = err.Error()
	}
	for _, name := range append([]string{PinLinkExec + "_new", PinLinkFork + "_new"}, AllPins...) {
		if _, err := os.Lstat(PinPath(dir, name)); err == nil {
			st.Pinned = append(st.Pinned, name)
		}
	}
	for _, pin := range []string{PinLinkExec, PinLinkFork} {
		info, err := LinkProgram(PinPath(dir, pin))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return st, err
		}
		st.Programs = append(st.Programs, ProgramStatus{Link: pin, Name: info.Name, Tag: info.Tag, ID: info.ID})
	}
	b, err := Open(dir)
	if errors.Is(err, ErrNotInstalled) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer b.Close()
	st.Installed, st.Mode = true, b.Mode()
	if st.Stats, err = b.Stats(); err != nil {
		return st, err
	}
	st.Tasks = b.tasks()
	cgs, err := b.Cgroups()
	if err != nil {
		return st, err
	}
	if len(cgs) > 0 {
		var paths map[uint64]string
		if mnt, err := Cgroup2Mount(); err == nil {
			paths, _ = walkCgroups(mnt)
		}
		for id, keep := range cgs {
			p := paths[id]
			st.Cgroups = append(st.Cgroups, CgroupStatus{ID: id, Path: p, Stale: p == "", Keep: keep, Mask: keep.String()})
		}
		sort.Slice(st.Cgroups, func(i, j int) bool { return st.Cgroups[i].ID < st.Cgroups[j].ID })
	}
	return st, nil
}

// tasks lists the processes (thread-group leaders) with a mask.
func (b *Backend) tasks() []TaskStatus {
	out := []TaskStatus{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		keep, ok, err := b.TaskMask(pid)
		if err != nil || !ok {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		out = append(out, TaskStatus{PID: pid, Comm: strings.TrimSpace(string(comm)), Keep: keep, Mask: keep.String()})
	}
	return out
}
