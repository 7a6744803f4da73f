package bpf

// The BPF programs (c/hwcap.bpf.c) compiled for both byte orders, as is and
// in dry-run form, with their Go bindings. `make generate` (or go generate
// ./internal/bpf) rebuilds them with Debian's clang-14 and libbpf-dev;
// TestGeneratedCurrent fails when the committed files differ from a rebuild.
//go:generate go tool bpf2go -cc clang-14 -target bpfel,bpfeb -type hwcap_stat hwcap c/hwcap.bpf.c -- -Wall -Werror
//go:generate go tool bpf2go -cc clang-14 -target bpfel,bpfeb -type hwcap_stat hwcapDry c/hwcap.bpf.c -- -Wall -Werror -DHWCAP_DRY_RUN
