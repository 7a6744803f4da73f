// Package criu holds the checkpoint/restore tests and scripts: CRIU from
// a newer Debian suite (fetch.sh), the real image fixtures of
// internal/criuimg (mkfixtures.sh), a real runc checkpoint restored
// through hwcap-runtime (restore_test.go), and the two-guest arm64 round
// trip for make e2e (vm-roundtrip.sh).
package criu
