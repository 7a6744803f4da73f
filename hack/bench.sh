#!/usr/bin/env bash
# make bench: what hwcap costs per container, measured against plain runc.
# Go micro-benchmarks (benchstat format) go to bench/results/gobench.txt;
# the paired runc/hook/wrapper/shim measurements, binary sizes, peak RSS and
# the targets to bench/results/latest.{json,md} and stdout. Never part of
# make test. Needs root, runc and the binaries from make build.
#
# Knobs (environment):
#   BENCH_N=200        pairs per `runc run` / `state` case (>= 50 for the report)
#   BENCH_N_EXEC=200   pairs per component-on-its-own case
#   BENCH_COUNT=10     go test -count for the Go benchmarks
#   BENCH_TIME=200ms   go test -benchtime
#   BENCH_NICE=        e.g. -5: run the measurements under nice -n -5 (a busy machine)
#   BENCH_GROUPS=run,state,exec,bpf
#                      bpf: the eBPF backend on Debian's stock kernel in a QEMU
#                      TCG guest (test/bpf/bench.sh; results in
#                      bench/results/bpf.md); BENCH_BPF_KERNEL=6.1,
#                      BENCH_BPF_ROUNDS, BENCH_BPF_N_EXEC, BENCH_BPF_N_RUNC
#   BENCH_BIN=bin      where the built binaries are
#   BENCH_BASELINE=    another build's bin directory: adds paired cases of this
#                      build against that one (e.g. the commit before a change)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench: run as root (runc needs it): sudo make bench" >&2; exit 1
fi
GO=${GO:-go}
command -v "$GO" >/dev/null || { echo "bench: Go not found on PATH" >&2; exit 1; }
command -v runc >/dev/null || { echo "bench: runc not found (make deps)" >&2; exit 1; }
bin=${BENCH_BIN:-bin}
for b in hwcap-runtime hwcap-hook hwcap-shim; do
	[ -x "$bin/$b" ] || { echo "bench: $bin/$b missing (make build)" >&2; exit 1; }
done

out=bench/results
mkdir -p "$out"
groups=${BENCH_GROUPS:-run,state,exec,bpf}
bpf=''
hgroups=''
for g in ${groups//,/ }; do
	if [ "$g" = bpf ]; then bpf=1; else hgroups+=${hgroups:+,}$g; fi
done
nice=()
if [ -n "${BENCH_NICE:-}" ]; then
	nice=(nice -n "$BENCH_NICE")
fi

if [ -n "$hgroups" ]; then
echo "== Go benchmarks (go test -bench, count ${BENCH_COUNT:-10}) -> $out/gobench.txt" >&2
"${nice[@]}" "$GO" test -run '^$' -bench . -benchmem -count "${BENCH_COUNT:-10}" -benchtime "${BENCH_TIME:-200ms}" \
	./internal/hwcap ./internal/config ./internal/auxv ./internal/probe > "$out/gobench.txt"
grep -E '^(Benchmark|pkg:)' "$out/gobench.txt" >&2 || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 "$GO" build -o "$tmp/hwcapbench" ./bench/cmd/hwcapbench

echo "== paired runs against plain runc (uptime: $(uptime))" >&2
"${nice[@]}" "$tmp/hwcapbench" \
	-bin "$bin" -runtime runc \
	-n "${BENCH_N:-200}" -n-exec "${BENCH_N_EXEC:-200}" \
	-groups "$hgroups" \
	-gobench "$out/gobench.txt" \
	${BENCH_BASELINE:+-baseline-bin "$BENCH_BASELINE"} \
	-json "$out/latest.json" -md "$out/latest.md" \
	-command "sudo make bench${BENCH_NICE:+ BENCH_NICE=$BENCH_NICE}" -nice "${BENCH_NICE:+nice -n $BENCH_NICE}"
fi

if [ -n "$bpf" ]; then
	echo "== the eBPF backend on Debian's stock ${BENCH_BPF_KERNEL:-6.1} kernel (QEMU TCG guest) -> $out/bpf.md" >&2
	test/bpf/bench.sh --kernel "${BENCH_BPF_KERNEL:-6.1}" --out bin/bench-bpf
	cp bin/bench-bpf/results.md "$out/bpf.md"
fi
