/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types and UAPI constants hwcap.bpf.c uses, instead of a
 * multi-megabyte vmlinux.h generated from one kernel's BTF.
 *
 * The structs carry preserve_access_index: every field access compiles to a
 * CO-RE relocation that the loader (cilium/ebpf) resolves by name against
 * the running kernel's BTF (/sys/kernel/btf/vmlinux), so field offsets and
 * the size of mm_struct.saved_auxv come from the kernel the object is loaded
 * on, not from these declarations. The constants are UAPI (linux/bpf.h,
 * linux/auxvec.h) and never change.
 */
#ifndef HWCAP_KERNEL_H
#define HWCAP_KERNEL_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef int pid_t;

/* linux/bpf.h */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_TASK_STORAGE 29
#define BPF_F_NO_PREALLOC 1
#define BPF_LOCAL_STORAGE_GET_F_CREATE 1
#define BPF_ANY 0

/* linux/auxvec.h */
#define AT_NULL 0
#define AT_HWCAP 16
#define AT_HWCAP2 26
#define AT_HWCAP3 29
#define AT_HWCAP4 30

struct mm_struct {
	unsigned long start_stack;
	/* The kernel's array has AT_VECTOR_SIZE entries (arch-dependent);
	 * bpf_core_field_size() reads the real size from BTF. */
	unsigned long saved_auxv[2];
} __attribute__((preserve_access_index));

struct task_struct {
	struct mm_struct *mm;
	int tgid;
	struct task_struct *group_leader;
} __attribute__((preserve_access_index));

struct linux_binprm {
	int argc;
	int envc;
} __attribute__((preserve_access_index));

#endif
