#!/usr/bin/env bash
# e2e.sh: `make e2e`'s eBPF part. The eBPF backend on Debian's unmodified
# kernels (test/vm/stock-kernels) under QEMU TCG: vm-check.sh in one guest
# per machine, then the arm64 checkpoint/restore round trip on the stock
# kernel (test/criu/vm-roundtrip.sh --stock). Prints one JSON line per check
# (test/e2e's results.jsonl format; checks bpf.NAME and bpf.criu.NAME), then
# a summary.
#
# Usage: test/bpf/e2e.sh
# Environment:
#   HWCAP_BPF_E2E_MACHINES  guests, ARCH/KERNEL[/lockdown] separated by spaces
#       (default "amd64/6.1 arm64/6.1 amd64/6.1/lockdown amd64/6.12 arm64/6.12
#       amd64/7.3 arm64/7.3"; arm64 runs -cpu max, amd64 QEMU's qemu64)
#   HWCAP_BPF_E2E_CRIU      stock kernel of the CRIU round trip, "" to skip
#                           (default 6.1)
#   HWCAP_BPF_E2E_OUT       output directory (default bin/e2e-bpf)
#   HWCAP_BPF_E2E_LOCK      a lock file (e.g. /tmp/hwcap-heavy.lock) held
#                           around each guest boot only, for a shared machine
# Output in HWCAP_BPF_E2E_OUT: results.jsonl, summary.txt, timings.txt and
# one directory per guest. Exit status 0 when every check passed.
set -euo pipefail
shopt -s inherit_errexit
PROG=e2e.sh
die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
machines=${HWCAP_BPF_E2E_MACHINES-amd64/6.1 arm64/6.1 amd64/6.1/lockdown amd64/6.12 arm64/6.12 amd64/7.3 arm64/7.3}
criu=${HWCAP_BPF_E2E_CRIU-6.1}
out=${HWCAP_BPF_E2E_OUT:-$repo/bin/e2e-bpf}
lock=${HWCAP_BPF_E2E_LOCK:-}
for m in $machines; do
	[[ $m =~ ^(amd64|arm64)/[0-9a-z.]+(/lockdown)?$ ]] ||
		die "HWCAP_BPF_E2E_MACHINES: bad entry \"$m\" (want ARCH/KERNEL[/lockdown], e.g. arm64/6.1 or amd64/6.1/lockdown)"
done
[[ $criu =~ ^[0-9a-z.]*$ ]] || die "HWCAP_BPF_E2E_CRIU: bad value \"$criu\" (want a name from test/vm/stock-kernels, or empty)"
held() { # held COMMAND...: run COMMAND, under the lock when one is set
	if [ -n "$lock" ]; then flock "$lock" "$@"; else "$@"; fi
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/results.jsonl" "$out/summary.txt"
timings=$out/timings.txt
: >"$timings"
t0=$SECONDS
step() { printf '%-28s %4ds\n' "$1" "$((SECONDS - $2))" | tee -a "$timings" >&2; }

for m in $machines; do
	IFS=/ read -r arch kname mode <<<"$m"
	name=$arch-$kname${mode:+-$mode}
	args=(--arch "$arch" --kernel "$kname" --out "$out/$name")
	[ -z "$mode" ] || args+=(--lockdown)
	t=$SECONDS
	log "$m: test/bpf/vm-check.sh ${args[*]}"
	held "$here/vm-check.sh" "${args[@]}" >/dev/null || true
	if [ -s "$out/$name/results.jsonl" ]; then
		cat "$out/$name/results.jsonl" >>"$out/results.jsonl"
	else
		printf '{"arch":"%s","cpu":"%s","kernel":"%s","check":"bpf.guest","pass":false,"detail":"vm-check.sh wrote no results (see %s)"}\n' \
			"$arch" "$( [ "$arch" = arm64 ] && echo max || echo qemu64)" "$kname" "$out/$name" >>"$out/results.jsonl"
	fi
	step "bpf $m" "$t"
done

if [ -n "$criu" ]; then
	t=$SECONDS
	log "arm64/$criu: test/criu/vm-roundtrip.sh --stock $criu (a64fx -> neoverse-n1)"
	held env HWCAP_NO_SKIP=1 "$repo/test/criu/vm-roundtrip.sh" --stock "$criu" --out "$out/criu-arm64-$criu" >"$out/criu.txt" 2>&1 || true
	krel=$(sed -n 's/^kernel: .*(\(.*\))$/\1/p' "$out/criu-arm64-$criu/a/kernel.txt" 2>/dev/null | head -n1)
	want="criu-preflight images-shared wrapped-run wrapped-checkpoint wrapped-check-compatible wrapped-restore-runs wrapped-restore-checked
		wrapped-child-after-restore crun-run crun-restore-runs crun-child-after-restore unmasked-sve-path
		unmasked-restore-refused bpf-install-a bpf-install-b wrapped-backend-bpf all"
	grep '^RESULT ' "$out/criu.txt" | "$here/results.sh" --arch arm64 --cpu a64fx --kernel "${krel:-$criu}" \
		--prefix bpf.criu --want "$want" >>"$out/results.jsonl"
	step "bpf criu arm64/$criu" "$t"
fi

cat "$out/results.jsonl"
total=$(wc -l <"$out/results.jsonl")
failed=$(grep -c '"pass":false' "$out/results.jsonl" || true)
{
	sed -E 's/^\{"arch":"([^"]*)","cpu":"([^"]*)","kernel":"([^"]*)","check":"([^"]*)","pass":(true|false).*/\5 \1\/\2 \4 (\3)/; s/^true /PASS /; s/^false /FAIL /' "$out/results.jsonl"
	echo "e2e bpf: $((total - failed)) passed, $failed failed"
} >"$out/summary.txt"
tail -n1 "$out/summary.txt"
step "bpf total" "$t0"
log "results: $out/results.jsonl, summary: $out/summary.txt, timings: $out/timings.txt"
[ "$failed" = 0 ] && [ "$total" -gt 0 ]
