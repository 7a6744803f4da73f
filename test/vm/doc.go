// Package vm holds the tests of the QEMU TCG runner in this directory
// (run.sh, fetch.sh, mkinitramfs.sh, capture-auxv.sh): they boot stock
// Debian kernels for amd64 and arm64 with a busybox initramfs and check
// that a guest script's output, exit code and files come back, that
// failures and hangs are reported, and that the committed auxv captures in
// internal/auxv/testdata are reproduced. See README.md.
package vm
