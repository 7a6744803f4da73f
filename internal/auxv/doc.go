// Package auxv reads, rewrites and applies the auxiliary vector, and is the
// one package in hwcap that makes raw system calls (prctl, brk, capget).
//
// A process's saved auxiliary vector (/proc/PID/auxv, PR_GET_AUXV) is what
// the kernel gave it at execve. With the "exec: inherit HWCAPs" series, a
// process that rewrites its own saved vector through prctl(PR_SET_MM) gets
// MMF_USER_HWCAP, and every later execve in its subtree starts with the
// AT_HWCAP* words of that vector, ANDed with the hardware's. Two paths set
// the vector:
//
//   - PR_SET_MM_AUXV needs CAP_SYS_RESOURCE in the initial user namespace;
//   - PR_SET_MM_MAP with exe_fd == -1 needs no capability, but the map must
//     describe the caller's real layout, which we read from /proc/self/stat
//     and brk(0) immediately before the call.
//
// The final upstream ABI may accept only one of them, so Apply tries each
// path it is given and reports which succeeded; package probe says which of
// them actually makes children inherit. Only AT_HWCAP* entries are ever
// changed: other entries (AT_RANDOM, AT_ENTRY, ...) are copied unchanged.
package auxv
