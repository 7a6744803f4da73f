// Package probe finds out whether the running kernel passes a masked
// auxiliary vector on to children, per prctl path.
//
// The answer cannot be read from a version number: the "exec: inherit
// HWCAPs" series is not in mainline, may land in another form, and may be
// backported. So the probe asks the kernel: it re-executes its own binary
// (/proc/self/exe, with a marker argv[0] that MaybeChild recognises) once
// per path; that child hides one bit of AT_HWCAP from itself through the
// path, then execs itself again in report mode, and the grandchild says what
// AT_HWCAP it was given. If the bit is gone, the path works.
//
// That costs two execs per path, so the result is cached per boot: the key is
// /proc/sys/kernel/random/boot_id, because the kernel cannot change without a
// reboot (kexec included). The cache file is written atomically and is
// trusted only when it is a regular file owned by root or by us and writable
// by nobody else; anything else is ignored and replaced.
package probe
