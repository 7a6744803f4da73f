// Package testutil holds helpers for integration tests that drive real
// container runtimes: skip helpers that skip loudly (and fail instead when
// $HWCAP_NO_SKIP=1 or $CI is set, because a skipped integration test in CI is
// a bug), a busybox-static rootfs, `runc spec`-like bundles, a runner for
// runc/crun with a private state root, and a once-per-test-binary build of
// the repository's commands.
package testutil
