// Package loader loads hwcap's eBPF programs (c/hwcap.bpf.c) into the
// kernel and pins them, with cilium/ebpf: `hwcapctl bpf install`. It is
// imported by hwcapctl only; the binaries on every container's path
// (hwcap-hook, hwcap-shim, hwcap-runtime) use the installed backend
// through internal/bpf, which needs none of cilium/ebpf's ELF and BTF
// machinery.
package loader

// The BPF programs compiled for both byte orders, as is and in dry-run
// form, with their Go bindings. `make generate-bpf` (go generate
// ./internal/bpf/loader) rebuilds them with Debian's clang-14 and
// libbpf-dev; TestGeneratedCurrent fails when the committed files differ
// from a rebuild.
//go:generate go tool bpf2go -cc clang-14 -target bpfel,bpfeb -type hwcap_stat hwcap c/hwcap.bpf.c -- -Wall -Werror
//go:generate go tool bpf2go -cc clang-14 -target bpfel,bpfeb -type hwcap_stat hwcapDry c/hwcap.bpf.c -- -Wall -Werror -DHWCAP_DRY_RUN
