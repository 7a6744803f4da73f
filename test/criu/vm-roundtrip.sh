#!/usr/bin/env bash
# vm-roundtrip.sh: checkpoint on one arm64 node type, restore on another.
#
# Two QEMU TCG guests stand for two node generations: `-cpu a64fx` (SVE)
# and `-cpu neoverse-n1` (no SVE). Not `-cpu max`: it has pointer
# authentication, and CRIU 4.1.1 dumps every task's PAC keys there and
# cannot restore them on a CPU without PAC ("PACG support is required from
# the source system", then it hangs), masked or not (--cpu-a max shows it). Both boot our patched
# kernel (test/kernel/build.sh arm64: the HWCAP-inheritance series) from a
# busybox initramfs with CRIU 4.1.1 from Debian trixie (fetch.sh --arch
# arm64), the svepath payload, hwcapctl and hwcap-shim. Images go from the
# first guest to the second through the console (run.sh brings $OUT back)
# and the second guest's initramfs (--add), so no shared file system is
# needed in the minimal kernel.
#
#   guest A (a64fx): svepath unmasked         -> path=sve,  criu dump -> plain/
#                   hwcap-shim --profile P -- svepath -> path=neon, dump -> masked/
#                   (P = hwcapctl baseline of guest A's and the N1 capture)
#   guest B (N1):   hwcapctl check-image plain/  -> incompatible (sve ...)
#                   criu restore plain/          -> dies with SIGILL
#                   hwcapctl check-image masked/ -> compatible
#                   criu restore masked/         -> keeps running; a child
#                   it forks after the restore reports the masked words
#
# Usage: vm-roundtrip.sh [--out DIR] [--kernel IMAGE] [--cpu-a MODEL] [--keep-fixtures DIR]
#   --cpu-a MODEL        guest A's CPU (default a64fx; its capture must be in
#                        testdata/cpuinfo/arm64-MODEL.txt, max: arm64-cpu-max.txt)
#   --out DIR            results (default: a temporary directory, printed)
#   --kernel IMAGE       arm64 Image (default: test/kernel/build.sh arm64)
#   --keep-fixtures DIR  copy the trimmed images to DIR (internal/criuimg/testdata/arm64)
# Prints "RESULT name=... pass|fail" lines, ends with "RESULT name=all ...";
# exit 0 when all pass.
set -euo pipefail
PROG=$(basename "$0")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
die() { echo "$PROG: $*" >&2; exit 1; }

out='' kernel='' keep='' cpua=a64fx
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--kernel) kernel=${2:?--kernel needs an image}; shift 2 ;;
	--keep-fixtures) keep=${2:?--keep-fixtures needs a directory}; shift 2 ;;
	--cpu-a) cpua=${2:?--cpu-a needs a QEMU CPU model}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
[ -n "$out" ] || out=$(mktemp -d /tmp/hwcap-criu-vm.XXXXXX)
mkdir -p "$out"
[ -n "$kernel" ] || kernel=$("$REPO/test/kernel/build.sh" arm64 | tail -n1)
[ -f "$kernel" ] || die "--kernel \"$kernel\": no such file"
eval "$("$HERE/fetch.sh" --arch arm64)"

stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/caps"
aarch64-linux-gnu-gcc -static -O2 -o "$stage/bin/svepath" "$HERE/payload/svepath.c"
(cd "$REPO" && GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -o "$stage/bin/" ./cmd/hwcapctl ./cmd/hwcap-shim)
capa=$REPO/testdata/cpuinfo/arm64-$cpua.txt
[ "$cpua" != max ] || capa=$REPO/testdata/cpuinfo/arm64-cpu-max.txt
[ -f "$capa" ] || die "--cpu-a $cpua: no capture $capa"
cp "$capa" "$stage/caps/a.txt"
cp "$REPO/testdata/cpuinfo/arm64-neoverse-n1.txt" "$stage/caps/"

common=(--arch arm64 --kernel "$kernel" --add "$CRIU_ROOT:/" --add "$stage/bin/svepath:/svepath"
	--add "$stage/bin/hwcapctl:/usr/local/bin/hwcapctl" --add "$stage/bin/hwcap-shim:/usr/local/bin/hwcap-shim"
	--add "$stage/caps:/caps" --mem 1G --timeout 300)

cat >"$stage/a.sh" <<'A'
set -u
# CRIU's kernel feature probes bind TCP sockets on loopback.
ip link set lo up
echo "guest A: $(uname -r), $(grep -m1 Features /proc/cpuinfo)"
criu --version | head -n1
criu check 2>&1 | tail -n1
mkdir -p /work
# Push the pid counter past what guest B's boot and tools will use, so the
# restored pids are free there.
for i in $(seq 300); do /bin/true; done
dump() { # NAME PID
	mkdir -p "$OUT/$1"
	if criu dump -t "$2" -D "$OUT/$1" -o dump.log -v4; then echo "RESULT name=dump-$1 pass"; else
		echo "RESULT name=dump-$1 fail"; grep -E 'Error|Warn' "$OUT/$1/dump.log" | head -n 20; fi
}
setsid /svepath /work/plain.log 100 </dev/null >/dev/null 2>&1 &
p=$!
sleep 2
tail -n1 /work/plain.log
dump plain "$p"
hwcapctl baseline /caps/a.txt /caps/arm64-neoverse-n1.txt -o /work/profile.json 2>&1
cp /work/profile.json "$OUT/"
setsid hwcap-shim --profile /work/profile.json --policy enforce -- /svepath /work/masked.log 100 </dev/null >/dev/null 2>&1 &
m=$!
sleep 2
tail -n1 /work/masked.log
dump masked "$m"
cp /work/plain.log /work/masked.log "$OUT/"
A

cat >"$stage/b.sh" <<'B'
set -u
ip link set lo up
echo "guest B: $(uname -r), $(grep -m1 Features /proc/cpuinfo)"
mkdir -p /work
cp /img/plain.log /img/masked.log /work/
for name in plain masked; do
	hwcapctl check-image "/img/$name"
	echo "check-image-$name-rc=$?"
done
hwcapctl check-image --json "/img/plain" >"$OUT/check-plain.json"
# The masked checkpoint restores and keeps running; a child forked after
# the restore reports its words.
n=$(wc -l </work/masked.log)
timeout 120 criu restore -D /img/masked -d -o /work/restore-masked.log -v4
echo "restore-masked-rc=$?"
sleep 2
echo "masked ticks before=$n after=$(wc -l </work/masked.log)"
touch /work/masked.log.fork
sleep 2
tail -n 3 /work/masked.log
grep Error /work/restore-masked.log | tail -n 5
cp /work/*.log "$OUT/"
# Forced restore of the unmasked (SVE) checkpoint in the foreground: criu
# waits for the restored task, which runs its SVE path on its next tick.
# The kernel reports the fatal signal (print-fatal-signals=1).
n=$(wc -l </work/plain.log)
timeout 60 criu restore -D /img/plain -o /work/restore-plain.log -v4
echo "restore-plain-rc=$?"
echo "plain ticks before=$n after=$(wc -l </work/plain.log)"
p=$(sed -n 's/.*pid=\([0-9]*\).*/\1/p' /work/plain.log | tail -n1)
if kill -0 "$p" 2>/dev/null; then echo "plain pid $p alive"; else echo "plain pid $p gone"; fi
grep -E 'Error|exited|killed|signal' /work/restore-plain.log | tail -n 5
dmesg | grep -E 'fatal signal|undefined instruction' | tail -n 3
cp /work/*.log "$OUT/"
B

log() { echo "$PROG: $*" >&2; }
log "guest A (-cpu $cpua): dump"
"$REPO/test/vm/run.sh" "${common[@]}" --cpu "$cpua" --script "$stage/a.sh" --out "$out/a" || true
cat "$out/a/output.txt" 2>/dev/null || true
[ -d "$out/a/files/plain" ] || die "guest A left no images (see $out/a/console.log)"
log "guest B (-cpu neoverse-n1): check and restore"
"$REPO/test/vm/run.sh" "${common[@]}" --cpu neoverse-n1 --append print-fatal-signals=1 --add "$out/a/files:/img" --script "$stage/b.sh" --out "$out/b" || true
cat "$out/b/output.txt" 2>/dev/null || true

o=$out/b/output.txt
res() { if eval "$2"; then echo "RESULT name=$1 pass"; else echo "RESULT name=$1 fail"; fail=1; fi; }
fail=0
res dump-plain "grep -q 'RESULT name=dump-plain pass' '$out/a/output.txt'"
res dump-masked "grep -q 'RESULT name=dump-masked pass' '$out/a/output.txt'"
res sve-path-unmasked "tail -n1 '$out/a/files/plain.log' | grep -q 'path=sve'"
res neon-path-masked "tail -n1 '$out/a/files/masked.log' | grep -q 'path=neon'"
res check-plain-incompatible "grep -q 'check-image-plain-rc=1' '$o' && grep -qE '^incompatible: .*[ :]sve( |$)' '$o'"
res check-masked-compatible "grep -q 'check-image-masked-rc=0' '$o'"
res restore-plain-sigill "grep -q 'plain pid [0-9]* gone' '$o' && grep -qE 'svepath.*potentially unexpected fatal signal 4\.' '$o'"
res restore-masked-runs "grep -q 'restore-masked-rc=0' '$o' && awk '/masked ticks/ {split(\$3,a,\"=\"); split(\$4,b,\"=\"); exit !(b[2] > a[2])}' '$o'"
res child-after-restore-masked "grep -q '^child pid=.* path=neon' '$out/b/files/masked.log'"
if [ -n "$keep" ]; then
	for n in plain masked; do
		rm -rf "${keep:?}/$n"
		mkdir -p "$keep/$n"
		cp "$out/a/files/$n"/{inventory.img,pstree.img} "$out/a/files/$n"/core-*.img "$out/a/files/$n"/mm-*.img "$keep/$n/"
	done
	cp "$out/a/files/profile.json" "$keep/"
fi
echo "results in $out"
if [ $fail = 0 ]; then echo "RESULT name=all pass"; else echo "RESULT name=all fail"; exit 1; fi
