# hwcap — see README.md. Every target runs from a clean clone.
GO        ?= go
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/hwcap/hwcap/internal/version.Version=$(VERSION)
CMDS      := $(notdir $(wildcard cmd/*))
FUZZTIME  ?= 60s
export CGO_ENABLED := 0

.PHONY: kernel kernel-check vm-check capture-auxv all build generate generate-bpf test lint fuzz e2e e2e-bpf bench install demo check deps clean kernel-src

all: build

## build: every cmd/* as a static binary in bin/ (hwcap-runtime with its C front end: cgo, static glibc)
build:
	GO=$(GO) GOBUILD_LDFLAGS='$(LDFLAGS)' hack/gobuild.sh bin ./cmd/...

## deps: install what the tests need (Debian packages; root)
deps:
	hack/install-deps.sh

## kernel-src: extract the kernel headers the table generator reads
kernel-src:
	hack/kernel-src.sh >/dev/null

## generate: regenerate internal/hwcap's feature tables from the kernel sources,
##           internal/front's rules.h from the Go wrapper's tables, and the BPF
##           objects + Go bindings of internal/bpf/loader (clang-14, libbpf-dev)
generate: generate-bpf
	HWCAP_KERNEL_SRC=$$(hack/kernel-src.sh) $(GO) generate ./internal/hwcap
	$(GO) generate ./internal/front

## generate-bpf: rebuild internal/bpf/loader's BPF objects and bindings only
generate-bpf:
	$(GO) generate ./internal/bpf/loader

## test: unit and integration tests against real runc, crun and podman (root)
test: build
	HWCAP_NO_SKIP=1 $(GO) test -count=1 -timeout 30m ./...
	HWCAP_NO_SKIP=1 CGO_ENABLED=1 $(GO) test -count=1 ./internal/front/

## lint: gofmt, go vet, and golangci-lint when installed
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) vet ./internal/front/ ./cmd/hwcap-runtime/
	shellcheck hack/*.sh test/vm/*.sh test/kernel/*.sh test/e2e/*.sh test/criu/*.sh test/bpf/*.sh .ci/run
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed; skipped"; fi

## fuzz: run every fuzz target for FUZZTIME (default 60s) each
fuzz:
	hack/fuzz.sh $(FUZZTIME)

## e2e: patched kernels under QEMU (x86_64, arm64): every process of a container masked;
##      then the arm64 CRIU round trip between an SVE and a non-SVE guest;
##      then the eBPF backend on Debian's stock kernels (e2e-bpf)
e2e: build kernel-check
	test/e2e/e2e.sh
	HWCAP_NO_SKIP=1 test/criu/vm-roundtrip.sh
	test/bpf/e2e.sh

## e2e-bpf: the eBPF backend on Debian's unmodified kernels (test/vm/stock-kernels) under QEMU:
##          one JSON line per check (bin/e2e-bpf/results.jsonl), CRIU a64fx -> neoverse-n1 on arm64
e2e-bpf: build
	test/bpf/e2e.sh

## kernel: build (or take from the cache) the patched test kernels
kernel:
	test/kernel/build.sh x86_64
	test/kernel/build.sh arm64

## kernel-check: boot them under QEMU; RESULT lines prove the inheritance semantics
kernel-check:
	test/kernel/check.sh x86_64
	test/kernel/check.sh arm64

## bench: what hwcap costs per container against plain runc (root; ~3 min; not part of make test),
##        and the eBPF backend's cost in a stock-kernel QEMU guest (BENCH_GROUPS=bpf alone)
bench: build
	hack/bench.sh

## demo: the main job — a real runc container whose processes get a mask; installs
##       only what it needs (runc, busybox-static, python3, gcc, libc6-dev)
demo:
	hack/install-deps.sh --demo
	$(MAKE) build
	hack/demo.sh

## check: all tests, what CI runs — deps and the kernel headers the generator test reads,
##        unit and integration tests, then the end-to-end proof on patched kernels
check: deps kernel-src
	$(MAKE) test
	$(MAKE) e2e

## install: binaries to $(BINDIR), examples to $(PREFIX)/share/hwcap
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/share/hwcap
	install -m 0755 $(addprefix bin/,$(CMDS)) $(DESTDIR)$(BINDIR)/
	cp -r examples $(DESTDIR)$(PREFIX)/share/hwcap/ 2>/dev/null || true

## vm-check: boot every captured QEMU CPU model, compare AT_HWCAP words with internal/auxv/testdata
vm-check:
	test/vm/capture-auxv.sh --check

## capture-auxv: re-capture internal/auxv/testdata and testdata/cpuinfo from QEMU guests and this host
capture-auxv:
	test/vm/capture-auxv.sh

clean:
	rm -rf bin
