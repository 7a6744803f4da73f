// Package bpf is hwcap's eBPF backend as the node's binaries use it: it
// opens the installed backend (pinned under /sys/fs/bpf/hwcap), sets and
// clears masks for a task and for a cgroup, reads the statistics and the
// status, collects the entries of cgroups that are gone, removes the
// backend, and says why it cannot work here (lockdown, BTF, capabilities,
// bpffs). It and its subpackage loader (which loads and pins the programs
// of loader/c/hwcap.bpf.c with cilium/ebpf, for hwcapctl only) are the
// one place that talks to BPF; this package makes the few bpf(2) calls it
// needs itself (sys_linux.go), so that the binaries every container start
// runs do not carry cilium/ebpf's start-up.
//
// Why a second backend: every kernel people run today lacks the "exec:
// inherit HWCAPs from the parent process" series, so a mask set with prctl
// ends at the next execve. The programs give the series' semantics on
// those kernels: a task carries a mask (BPF task storage, set through a
// pidfd so that a reused pid cannot be hit), fork copies it, and at every
// execve of a masked task (tp_btf/sched_process_exec) the AT_HWCAP* words
// on the new stack are ANDed with it before the program's first
// instruction. A mask registered for a cgroup covers every process that
// execs in it or below it, which is how `runc exec` and `kubectl exec`
// processes (not descendants of the container's init) are reached.
//
// What it cannot do: /proc/PID/auxv is the kernel's copy (mm->saved_auxv),
// which BPF cannot write, so it keeps the unmasked words; CRIU saves that
// copy, and BPF state is not checkpointed. Programs that read the words
// from their stack (glibc's getauxval and ifunc resolvers, Go's runtime,
// static C) see the mask. The write uses bpf_probe_write_user, which the
// kernel refuses under lockdown (integrity or confidentiality), and whose
// loading prints a warning in the kernel log.
//
// A dry-run variant (ModeDryRun) is the same program without that helper:
// it loads under lockdown and records, per process, the words it would
// have written, so the whole path short of the write can be tested there.
package bpf
