// Command e2e-guest runs every end-to-end check inside one QEMU guest that
// boots the patched test kernel (see ../README.md), or with -host the
// host's own probe check. It drives the real runc, hwcap-runtime,
// hwcap-shim, hwcap-hook and hwcapctl, reads what the C payload
// (../payload/hwcapreport.c) prints in each process of a container, and
// writes one e2e.Result JSON line per check.
//
// The expected words are computed from the guest's own hardware words (the
// payload run outside any container and mask) and the kernel's bit
// numbers for the few features used here, written out below from the
// uapi headers rather than taken from internal/hwcap, so that a wrong
// feature table would show up as a failure instead of agreeing with
// itself.
package main
