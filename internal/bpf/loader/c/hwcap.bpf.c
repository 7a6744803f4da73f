// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * hwcap's eBPF backend: the semantics of the "exec: inherit HWCAPs from the
 * parent process" series on kernels without it.
 *
 * A task carries a mask (task_mask, set from user space through a pidfd);
 * fork and clone copy it to the child (hwcap_fork). A container's cgroup may
 * carry one too (cgroup_mask, keyed by the cgroup v2 id), which applies to
 * every task that execs in that cgroup or below it. When a task with a mask
 * execs (hwcap_exec, on tp_btf/sched_process_exec: after create_elf_tables()
 * has written the new stack and before the first user instruction), the
 * AT_HWCAP, AT_HWCAP2, AT_HWCAP3 and AT_HWCAP4 words on the new stack become
 * word & mask. A mask can only clear bits. Tasks without a mask are left
 * alone.
 *
 * The stack is written only where it is exactly what the kernel built:
 * argc where mm->start_stack points, the argv and envp NULL terminators
 * where bprm->argc/envc put them, and an auxiliary vector equal, entry for
 * entry, to mm->saved_auxv (HWCAP words may already be a subset: a second
 * copy of these programs, during an upgrade, runs after the first). Anything
 * else is counted in stats and the process keeps what the kernel gave it.
 *
 * Built twice (bpf2go, see ../gen.go): as is, and with HWCAP_DRY_RUN, which
 * replaces bpf_probe_write_user (refused under kernel lockdown) by a record
 * of the words it would have written in the map seen.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NWORDS 4
/* Scratch for the auxiliary vector, in words (32 pairs). Linux 6.18 has
 * AT_VECTOR_SIZE 56 on x86_64; a larger vector is a miss, not a crash. */
#define AUXV_MAX 64
/* Deepest cgroup level whose mask is looked up. */
#define CGROUP_LEVELS 32
/* Sanity bound for argc/envc (the kernel's own limit is lower). */
#define ARGS_MAX (1 << 24)

struct hwcap_mask {
	__u64 keep[NWORDS];
};

enum hwcap_stat {
	HWCAP_STAT_EXEC_MASKED = 0,	/* words cleared on the new stack */
	HWCAP_STAT_EXEC_UNCHANGED,	/* masked, but nothing left to clear */
	HWCAP_STAT_EXEC_BY_TASK,	/* an exec with a task mask */
	HWCAP_STAT_EXEC_BY_CGROUP,	/* an exec with a cgroup mask */
	HWCAP_STAT_FORK_COPIED,		/* a child inherited its parent's mask */
	HWCAP_STAT_MISS_NO_MM,		/* no mm (cannot happen after exec) */
	HWCAP_STAT_MISS_READ_SAVED,	/* mm->saved_auxv unreadable */
	HWCAP_STAT_MISS_AUXV_FORMAT,	/* saved auxv too long or not 64-bit (compat task) */
	HWCAP_STAT_MISS_READ_STACK,	/* the new stack unreadable */
	HWCAP_STAT_MISS_LAYOUT,		/* argc or a NULL terminator not where expected */
	HWCAP_STAT_MISS_MISMATCH,	/* the stack's auxv differs from mm->saved_auxv */
	HWCAP_STAT_MISS_WRITE,		/* bpf_probe_write_user failed */
	HWCAP_STAT_MISS_FORK_STORAGE,	/* no storage for a child's mask */
	HWCAP_STAT_MAX,
};

/* What an exec saw and what it left (dry-run: would have left). */
struct hwcap_seen {
	__u64 before[NWORDS];
	__u64 after[NWORDS];
	__u32 present;	/* bit w: AT_HWCAP(w+1) is in the vector */
	__u32 source;	/* bit 0: task mask, bit 1: cgroup mask */
};

struct scratch {
	__u64 saved[AUXV_MAX];
	__u64 stack[AUXV_MAX];
	__u32 n;	/* words of the vector, AT_NULL pair included */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hwcap_mask);
} task_mask SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct hwcap_mask);
} cgroup_mask SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HWCAP_STAT_MAX);
	__type(key, enum hwcap_stat);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

#ifdef HWCAP_DRY_RUN
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct hwcap_seen);
} seen SEC(".maps");
#define EXEC_PROG hwcap_exec_dry
#define FORK_PROG hwcap_fork_dry
#else
#define EXEC_PROG hwcap_exec
#define FORK_PROG hwcap_fork
#endif

static __always_inline void count(enum hwcap_stat stat)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &stat);

	if (c)
		*c += 1;
}

/* word_of maps an auxv type to its HWCAP word index, or -1. */
static __always_inline int word_of(__u64 type)
{
	switch (type) {
	case AT_HWCAP:
		return 0;
	case AT_HWCAP2:
		return 1;
	case AT_HWCAP3:
		return 2;
	case AT_HWCAP4:
		return 3;
	}
	return -1;
}

/* mask_for ANDs every mask that applies to the current task into m and
 * returns where they came from (0: none). */
static __always_inline __u32 mask_for(struct task_struct *p, struct hwcap_mask *m)
{
	struct hwcap_mask *tm, *cm;
	__u32 source = 0;
	int w, lvl;

	tm = bpf_task_storage_get(&task_mask, p, 0, 0);
	if (tm) {
		for (w = 0; w < NWORDS; w++)
			m->keep[w] &= tm->keep[w];
		source |= 1;
	}
	/* Level 0 is the root cgroup, which is never registered. */
	for (lvl = 1; lvl < CGROUP_LEVELS; lvl++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(lvl);

		if (!id)
			break;
		cm = bpf_map_lookup_elem(&cgroup_mask, &id);
		if (cm) {
			for (w = 0; w < NWORDS; w++)
				m->keep[w] &= cm->keep[w];
			source |= 2;
		}
	}
	return source;
}

static __always_inline int read_user_word(__u64 *dst, __u64 addr)
{
	return bpf_probe_read_user(dst, sizeof(*dst), (const void *)addr);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(EXEC_PROG, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct hwcap_mask m = { .keep = { ~0ULL, ~0ULL, ~0ULL, ~0ULL } };
	__u64 sp, auxv, word, size, n;
	int pos[NWORDS] = { -1, -1, -1, -1 };
	struct mm_struct *mm;
	struct scratch *s;
	__u32 zero = 0, source, i;
	long argc, envc;
	int w, changed = 0;

	source = mask_for(p, &m);
	if (!source)
		return 0;
	if (source & 1)
		count(HWCAP_STAT_EXEC_BY_TASK);
	if (source & 2)
		count(HWCAP_STAT_EXEC_BY_CGROUP);

	mm = BPF_CORE_READ(p, mm);
	if (!mm) {
		count(HWCAP_STAT_MISS_NO_MM);
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;

	/* The kernel's copy of the vector, as /proc/PID/auxv shows it. */
	size = bpf_core_field_size(mm->saved_auxv);
	if (size > sizeof(s->saved))
		size = sizeof(s->saved);
	if (bpf_probe_read_kernel(s->saved, size, &mm->saved_auxv)) {
		count(HWCAP_STAT_MISS_READ_SAVED);
		return 0;
	}
	n = 0;
	for (i = 0; i < AUXV_MAX; i += 2) {
		if ((i + 2) * sizeof(__u64) > size)
			break;
		/* A type word beyond the known AT_* range: not a 64-bit
		 * vector (a compat task packs 32-bit entries). */
		if (s->saved[i] > 63)
			break;
		if (s->saved[i] == AT_NULL) {
			n = i + 2;
			break;
		}
	}
	if (!n) {
		count(HWCAP_STAT_MISS_AUXV_FORMAT);
		return 0;
	}
	/* Kept in map memory and read back below: a loop bound the verifier
	 * tracks as a different constant on each path multiplies the states
	 * it explores past its 1M-instruction limit. */
	s->n = n;

	/* argc, argv[], NULL, envp[], NULL, auxv at mm->start_stack. */
	sp = BPF_CORE_READ(mm, start_stack);
	argc = BPF_CORE_READ(bprm, argc);
	envc = BPF_CORE_READ(bprm, envc);
	if (argc < 0 || envc < 0 || argc > ARGS_MAX || envc > ARGS_MAX) {
		count(HWCAP_STAT_MISS_LAYOUT);
		return 0;
	}
	if (read_user_word(&word, sp) || word != (__u64)argc ||
	    read_user_word(&word, sp + 8 * (1 + argc)) || word != 0 ||
	    read_user_word(&word, sp + 8 * (2 + argc + envc)) || word != 0) {
		count(HWCAP_STAT_MISS_LAYOUT);
		return 0;
	}
	auxv = sp + 8 * (3 + argc + envc);

	n = *(volatile __u32 *)&s->n;
	if (n < 2 || n > AUXV_MAX)
		return 0;
	if (bpf_probe_read_user(s->stack, n * sizeof(__u64), (const void *)auxv)) {
		count(HWCAP_STAT_MISS_READ_STACK);
		return 0;
	}
	for (i = 0; i < AUXV_MAX; i += 2) {
		__u64 type, val, got;

		if (i >= n)
			break;
		type = s->saved[i];
		val = s->saved[i + 1];
		got = s->stack[i + 1];
		if (s->stack[i] != type) {
			count(HWCAP_STAT_MISS_MISMATCH);
			return 0;
		}
		w = word_of(type);
		if (w >= 0) {
			/* Equal, or already a subset (masked by an earlier
			 * copy of this program during an upgrade). */
			if (got & ~val) {
				count(HWCAP_STAT_MISS_MISMATCH);
				return 0;
			}
			pos[w] = i + 1;
		} else if (got != val) {
			count(HWCAP_STAT_MISS_MISMATCH);
			return 0;
		}
	}

#ifdef HWCAP_DRY_RUN
	struct hwcap_seen rec = { .source = source };
#endif
	for (w = 0; w < NWORDS; w++) {
		__u64 before, after;
		__u32 at;

		if (pos[w] < 0)
			continue;
		at = pos[w] & (AUXV_MAX - 1);
		before = s->stack[at];
		after = before & m.keep[w];
#ifdef HWCAP_DRY_RUN
		rec.before[w] = before;
		rec.after[w] = after;
		rec.present |= 1 << w;
		if (after != before)
			changed++;
#else
		if (after == before)
			continue;
		if (bpf_probe_write_user((void *)(auxv + at * sizeof(__u64)), &after, sizeof(after))) {
			count(HWCAP_STAT_MISS_WRITE);
			return 0;
		}
		changed++;
#endif
	}
#ifdef HWCAP_DRY_RUN
	{
		__u32 tgid = BPF_CORE_READ(p, tgid);

		bpf_map_update_elem(&seen, &tgid, &rec, BPF_ANY);
	}
#endif
	count(changed ? HWCAP_STAT_EXEC_MASKED : HWCAP_STAT_EXEC_UNCHANGED);
	return 0;
}

/* The mask belongs to the process, as the series' flag belongs to the mm:
 * user space sets it through a pidfd, on the thread-group leader, so a
 * thread that existed before has none of its own, and what it forks takes
 * the leader's. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(FORK_PROG, struct task_struct *parent, struct task_struct *child)
{
	struct hwcap_mask *pm, *cm;
	struct task_struct *leader;

	pm = bpf_task_storage_get(&task_mask, parent, 0, 0);
	if (!pm) {
		leader = parent->group_leader;
		if (!leader || leader == parent)
			return 0;
		pm = bpf_task_storage_get(&task_mask, leader, 0, 0);
		if (!pm)
			return 0;
	}
	cm = bpf_task_storage_get(&task_mask, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!cm) {
		count(HWCAP_STAT_MISS_FORK_STORAGE);
		return 0;
	}
	*cm = *pm;
	count(HWCAP_STAT_FORK_COPIED);
	return 0;
}
