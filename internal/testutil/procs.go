package testutil

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one line of the process table.
type proc struct {
	pid, ppid, pgrp int
	comm            string
	mark            string // its MarkEnv value, "" if none
}

// procs reads /proc: every process, with its MarkEnv value.
func procs() []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(stat, ')')
		j := bytes.IndexByte(stat, '(')
		if i < 0 || j < 0 || j > i {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 {
			continue
		}
		p := proc{pid: pid, comm: string(stat[j+1 : i])}
		p.ppid, _ = strconv.Atoi(f[1])
		p.pgrp, _ = strconv.Atoi(f[2])
		if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
			for _, kv := range bytes.Split(env, []byte{0}) {
				if v, ok := bytes.CutPrefix(kv, []byte(MarkEnv+"=")); ok {
					p.mark = string(v)
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// KillTree kills the process tree of a command: pid, its process group,
// every descendant, and every process whose MarkEnv value is mark (which
// finds those that left both by setsid and a double fork). What it finds
// is stopped first, round after round until nothing new appears (a
// stopped process neither forks nor exits, so the tree holds still), then
// killed. It returns "PID (comm)" of each, sorted by pid.
func KillTree(pid int, mark string) []string {
	return stopAndKill(func(p proc, in map[int]bool) bool {
		return (pid > 0 && (p.pid == pid || p.pgrp == pid)) || in[p.ppid] || (mark != "" && p.mark == mark)
	})
}

// killMarked kills every process whose MarkEnv value starts with prefix,
// and their descendants.
func killMarked(prefix string) []string {
	return stopAndKill(func(p proc, in map[int]bool) bool {
		return in[p.ppid] || (p.mark != "" && strings.HasPrefix(p.mark, prefix))
	})
}

// stopAndKill stops every process match selects (given those selected so
// far), until a round finds none new, then kills them all.
func stopAndKill(match func(p proc, in map[int]bool) bool) []string {
	self, parent := os.Getpid(), os.Getppid()
	in := map[int]bool{}
	names := map[int]string{}
	for round := 0; round < 100; round++ {
		found := false
		// Repeat within a round: a match may make its children match.
		for grew := true; grew; {
			grew = false
			for _, p := range procs() {
				if in[p.pid] || p.pid == self || p.pid == parent || p.pid <= 1 || !match(p, in) {
					continue
				}
				in[p.pid], names[p.pid] = true, p.comm
				_ = syscall.Kill(p.pid, syscall.SIGSTOP)
				grew, found = true, true
			}
		}
		if !found {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out []string
	pids := make([]int, 0, len(in))
	for pid := range in {
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		out = append(out, fmt.Sprintf("%d (%s)", pid, names[pid]))
	}
	return out
}

// KillCgroups kills every process in each cgroup named name (and its
// children) of every hierarchy under /sys/fs/cgroup, thawing a frozen
// one first (a frozen task does not die), and returns "PID" of each. A
// runtime names a container's cgroup after its id: this is the last
// resort when `delete --force` did not stop the container.
func KillCgroups(name string) []string {
	var killed []string
	_ = filepath.WalkDir(cgroupRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == cgroupRoot || d.Name() != name {
			return nil
		}
		_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			_ = os.WriteFile(filepath.Join(q, "cgroup.kill"), []byte("1"), 0) // v2
			for _, f := range []string{"cgroup.procs", "tasks"} {
				b, err := os.ReadFile(filepath.Join(q, f))
				if err != nil {
					continue
				}
				for _, s := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(s); err == nil && pid > 1 {
						if syscall.Kill(pid, syscall.SIGKILL) == nil {
							killed = append(killed, s)
						}
					}
				}
			}
			_ = os.WriteFile(filepath.Join(q, "freezer.state"), []byte("THAWED"), 0) // v1
			_ = os.WriteFile(filepath.Join(q, "cgroup.freeze"), []byte("0"), 0)      // v2
			return nil
		})
		return filepath.SkipDir
	})
	return killed
}
