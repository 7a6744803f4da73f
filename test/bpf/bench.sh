#!/usr/bin/env bash
# bench.sh: the cost of the eBPF backend on a stock Debian kernel, measured
# inside a QEMU TCG guest (test/vm/run.sh; test/bpf/bench-guest.sh runs
# there). `make bench` runs it as its bpf group (BENCH_GROUPS).
#
#   exec   mean fork+execve+wait of a static no-op (N_EXEC in a row), per
#          round: programs not installed / installed, caller not masked /
#          installed, caller masked (hwcap-shim --deny): ratios paired by
#          round (target: unmasked / none <= 1.02)
#   prog   the kernel's run-time statistics of the two programs
#          (kernel.bpf_stats_enabled) over N_EXEC execs, unmasked and masked:
#          their own cost per call, and that as a share of one exec
#   runc   `runc run` of a no-op container: plain / hwcap-hook in
#          config.json, no annotation / hook + hwcap.dev/deny (the hook
#          alone masks it on the eBPF backend): ratios and differences
#          paired by run
# Medians with quartiles [p25, p75] of the per-pair ratios. Under TCG every
# instruction is emulated, so absolute times are far above a real CPU's;
# the ratios are the result.
#
# Usage: test/bpf/bench.sh [--arch amd64|arm64] [--kernel NAME] [--out DIR] [--report]
#   --arch     guest architecture (default: the host's)
#   --kernel   a stock kernel of test/vm/stock-kernels (default 6.1)
#   --out      results (default bin/bench-bpf): guest/ (run.sh's), lines.txt
#              (the guest's BENCH lines), results.md (the tables, printed)
#   --report   no guest: make the tables again from DIR/guest/output.txt
# Environment: BENCH_BPF_ROUNDS (10), BENCH_BPF_N_EXEC (200),
# BENCH_BPF_N_RUNC (20). Holds no lock itself: on a shared machine run it
# under `flock /tmp/hwcap-heavy.lock`.
set -euo pipefail
shopt -s inherit_errexit
PROG=bench.sh
die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
GO=${GO:-go}

case $(uname -m) in aarch64) arch=arm64 ;; *) arch=amd64 ;; esac
kname=6.1 out='' report=''
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
	--kernel) kname=${2:?--kernel needs a name from test/vm/stock-kernels}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--report) report=1; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
rounds=${BENCH_BPF_ROUNDS:-10} nexec=${BENCH_BPF_N_EXEC:-200} nrunc=${BENCH_BPF_N_RUNC:-20}
for v in "BENCH_BPF_ROUNDS=$rounds" "BENCH_BPF_N_EXEC=$nexec" "BENCH_BPF_N_RUNC=$nrunc"; do
	[[ ${v#*=} =~ ^[1-9][0-9]{0,5}$ ]] || die "$v: want a positive whole number"
done
case $arch in
amd64) cc=gcc deny=sse2 ;;
arm64) cc=aarch64-linux-gnu-gcc deny=sve,sve2 ;;
*) die "--arch \"$arch\": want amd64 or arm64" ;;
esac
[[ $kname =~ ^[0-9a-z.]+$ ]] || die "--kernel \"$kname\": want a name from test/vm/stock-kernels, e.g. 6.1"
command -v "$cc" >/dev/null || die "$cc not found (make deps)"
out=${out:-$repo/bin/bench-bpf}
mkdir -p "$out/stage/bin" "$out/stage/libexec"
out=$(cd "$out" && pwd)
stage=$out/stage

rc=0
if [ -z "$report" ]; then
log "building hwcap binaries and the payloads for $arch"
(cd "$repo" && GOARCH=$arch GO=$GO hack/gobuild.sh "$stage/bin" ./cmd/hwcap-hook ./cmd/hwcap-shim ./cmd/hwcapctl) ||
	die "go build for $arch failed"
"$cc" -static -O2 -Wall -Wextra -Werror -o "$stage/libexec/forkexec" "$here/payload/forkexec.c" || die "compiling forkexec.c failed"
"$cc" -static -O2 -Wall -Wextra -Werror -o "$stage/libexec/progstats" "$here/payload/progstats.c" || die "compiling progstats.c failed"
echo 'int main(void) { return 0; }' | "$cc" -static -Os -x c -o "$stage/libexec/nop" - || die "compiling the no-op failed"
{
	printf 'DENY=%s\nROUNDS=%s\nN_EXEC=%s\nN_RUNC=%s\n' "$deny" "$rounds" "$nexec" "$nrunc"
	cat "$here/bench-guest.sh"
} >"$stage/guest.sh"

set +e
"$repo/test/vm/run.sh" --arch "$arch" --stock "$kname" --tmpfs-root --script "$stage/guest.sh" --out "$out/guest" \
	--timeout 3000 --mem 1G --add "$stage/bin:/usr/local/bin" --add "$stage/libexec:/usr/local/libexec" \
	--deb runc --deb libseccomp2 --deb libc6
rc=$?
set -e
fi
[ -f "$out/guest/output.txt" ] || die "no output from the guest (run.sh exit $rc; see $out/guest/console.txt)"
grep '^BENCH ' "$out/guest/output.txt" >"$out/lines.txt" || true
if grep -q 'BENCH-ERROR' "$out/guest/output.txt" || [ "$rc" != 0 ]; then
	grep 'BENCH-ERROR' "$out/guest/output.txt" >&2 || true
	die "the guest's measurements failed (run.sh exit $rc; see $out/guest/output.txt)"
fi
kernel=$(sed -n 's/^kernel \([^ ]*\) .*/\1/p' "$out/guest/output.txt" | head -n1)

# stats NAME: "median [p25, p75]" of the numbers on stdin (nearest rank).
stats() {
	sort -g | awk -v fmt="$1" '{v[NR] = $1} END {
		if (NR == 0) { print "n/a"; exit }
		i = int((NR + 1) / 2); a = int((NR + 3) / 4); b = NR + 1 - a
		printf fmt " [" fmt ", " fmt "]\n", v[i], v[a], v[b] }'
}
ratio() { # ratio KIND A B: B/A per line
	awk -v k="$1" -v a="$2" -v b="$3" '$2 == k {
		for (i = 3; i <= NF; i++) { split($i, f, "="); v[f[1]] = f[2] }
		if (v[a] > 0 && v[b] != "") printf "%.4f\n", v[b] / v[a] }' "$out/lines.txt"
}
diffms() { # diffms KIND A B: (B-A) in ms per line
	awk -v k="$1" -v a="$2" -v b="$3" '$2 == k {
		for (i = 3; i <= NF; i++) { split($i, f, "="); v[f[1]] = f[2] }
		if (v[a] != "" && v[b] != "") printf "%.3f\n", (v[b] - v[a]) / 1e6 }' "$out/lines.txt"
}
field() { # field KIND NAME SCALE: the NAME values / SCALE
	awk -v k="$1" -v n="$2" -v s="$3" '$2 == k {
		for (i = 3; i <= NF; i++) { split($i, f, "="); if (f[1] == n) printf "%.3f\n", f[2] / s } }' "$out/lines.txt"
}
nx=$(grep -c '^BENCH exec ' "$out/lines.txt" || true)
nr=$(grep -c '^BENCH runc ' "$out/lines.txt" || true)
[ "$nx $nr" = "$rounds $nrunc" ] || die "the guest reported $nx exec rounds and $nr runc pairs, want $rounds and $nrunc (see $out/guest/output.txt)"
unm=$(ratio exec none unmasked | stats %.3f)
{
	echo "#### eBPF backend on Debian's $kname kernel ($kernel, $arch, QEMU TCG guest), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "fork+execve+wait of a static no-op, mean of $nexec in a row, $rounds rounds (order alternating):"
	echo
	echo "| case | µs per exec, median [p25, p75] | ratio to no programs, median [p25, p75] |"
	echo "|---|---:|---:|"
	echo "| programs not installed | $(field exec none 1000 | stats %.1f) | 1 |"
	echo "| installed, process not masked | $(field exec unmasked 1000 | stats %.1f) | $unm |"
	echo "| installed, process masked (\`hwcap-shim --deny $deny\`) | $(field exec masked 1000 | stats %.1f) | $(ratio exec none masked | stats %.3f) |"
	echo
	echo "The programs' own run time per call (the kernel's BPF statistics over $nexec fork+execs each; TCG-emulated like everything here):"
	echo
	echo "| caller | hwcap_exec µs per call | hwcap_fork µs per call | both, share of one exec |"
	echo "|---|---:|---:|---:|"
	for k in unmasked masked; do
		awk -v k="$k" -v ex="$(field exec none 1000 | stats %.3f | cut -d' ' -f1)" '$2 == "prog" && $3 == ("kind=" k) {
			for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			e = v["exec_cnt"] ? v["exec_ns"] / v["exec_cnt"] / 1000 : 0
			fk = v["fork_cnt"] ? v["fork_ns"] / v["fork_cnt"] / 1000 : 0
			printf "| %s | %.2f (%d calls) | %.2f (%d calls) | %.2f%% |\n", k, e, v["exec_cnt"], fk, v["fork_cnt"], (ex > 0 ? 100 * (e + fk) / ex : 0) }' "$out/lines.txt"
	done
	echo
	echo "\`runc run\` of the no-op container, programs installed, $nrunc runs each (order alternating):"
	echo
	echo "| case | ms, median [p25, p75] | ratio to plain runc | Δ ms to plain runc |"
	echo "|---|---:|---:|---:|"
	echo "| plain \`runc run\` | $(field runc plain 1e6 | stats %.1f) | 1 | 0 |"
	echo "| hwcap-hook in config.json, no annotation | $(field runc hook 1e6 | stats %.1f) | $(ratio runc plain hook | stats %.3f) | $(diffms runc plain hook | stats %.1f) |"
	echo "| hook + \`hwcap.dev/deny: $deny\` (masked by the hook alone) | $(field runc masked 1e6 | stats %.1f) | $(ratio runc plain masked | stats %.3f) | $(diffms runc plain masked | stats %.1f) |"
	echo "| masked against the hook without annotation | | $(ratio runc hook masked | stats %.3f) | $(diffms runc hook masked | stats %.1f) |"
	echo
	echo "Target: unmasked processes ≤ 1.02 × no programs: median $unm. Guest boot + run: $(cat "$out/guest/seconds" 2>/dev/null || echo '?') s."
} | tee "$out/results.md"
