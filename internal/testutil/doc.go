// Package testutil holds helpers for integration tests that drive real
// container runtimes: skip helpers that skip loudly (and fail instead when
// $HWCAP_NO_SKIP=1 or $CI is set, because a skipped integration test in CI is
// a bug), a busybox-static rootfs, `runc spec`-like bundles, a runner for
// runc/crun with a private state root, and a once-per-test-binary build of
// the repository's commands.
//
// Every external command a test starts that can hang (a runtime, podman,
// containerd's and docker's clients and daemons, CRIU, QEMU) goes through
// Run, Try or StartDaemon: each has a deadline, at which its whole process
// tree is killed (its process group, its descendants, and what left both
// by setsid and a double fork but still carries the command's MarkEnv),
// and the failure names the command, how long it ran and the tail of its
// logs (CRIU's dump.log, the runtime's --log). What a test's commands
// leave running is killed when the test ends; Runtime.Delete kills what a
// container's cgroups still hold after `delete --force`. No stuck command
// holds CI until `go test -timeout`.
package testutil
