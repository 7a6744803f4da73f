// Package e2e holds the end-to-end proof that runs under `make e2e`: the
// patched test kernels of test/kernel booted under QEMU TCG (x86_64 and
// arm64) with real runc, the project's binaries cross-compiled and static C
// payloads, one guest per architecture running every check (guest/), and
// the result format they share: one JSON object per check and line
// (results.go), merged and judged on the host by report/. Booting VMs
// belongs to `make e2e` (e2e.sh); `go test ./test/e2e/` only tests the
// result format and the check lists, fast and without a VM. See README.md.
package e2e
