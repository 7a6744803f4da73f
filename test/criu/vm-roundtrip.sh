#!/usr/bin/env bash
# vm-roundtrip.sh: checkpoint on one arm64 node type, restore on another.
#
# Two QEMU TCG guests stand for two node generations: `-cpu a64fx` (SVE)
# and `-cpu neoverse-n1` (no SVE). Not `-cpu max`: it has pointer
# authentication, and CRIU (4.1.1 and later) dumps every task's PAC keys there and
# cannot restore them on a CPU without PAC ("PACG support is required from
# the source system", then it hangs), masked or not (--cpu-a max shows it). Both boot our patched
# kernel (test/kernel/build.sh arm64: the HWCAP-inheritance series) from a
# busybox initramfs (copied into a tmpfs root, run.sh --tmpfs-root, so runc
# can pivot_root) with CRIU from the Debian suite criu.env names (sid's
# 4.2.1; fetch.sh --arch arm64), Debian's runc and GNU tar (CRIU archives the container's /dev
# tmpfs with it), the svepath payload, hwcapctl, hwcap-shim and
# hwcap-runtime. Images go from the first guest to the second through a
# directory both share with the host (run.sh --share: virtio-9p), as nodes
# share checkpoint storage; each guest copies them to and from its own
# tmpfs (CRIU writes and reads local files).
#
#   guest A (a64fx): svepath unmasked         -> path=sve,  criu dump -> plain/
#                   hwcap-shim --profile P -- svepath -> path=neon, dump -> masked/
#                   (P = hwcapctl baseline of guest A's and the N1 capture)
#                   hwcap-runtime run, a runc container with
#                     hwcap.dev/profile=fleet (P)  -> path=neon,
#                     hwcap-runtime checkpoint     -> wrapped/
#                   the same through hwcap-runtime with crun    -> crun/
#                   runc run, the same container without annotations
#                                              -> path=sve, runc checkpoint -> unmasked/
#   guest B (N1):   hwcapctl check-image plain/  -> incompatible (sve ...)
#                   criu restore plain/          -> dies with SIGILL
#                   hwcapctl check-image masked/ -> compatible
#                   criu restore masked/         -> keeps running; a child
#                   it forks after the restore reports the masked words
#                   hwcapctl check-image wrapped/ -> compatible
#                   hwcap-runtime restore wrapped/ -> checked (superset),
#                     runc restores it, it keeps running, a child forked
#                     after the restore reports the masked words
#                   the same with crun as the real runtime (crun/)
#                   hwcap-runtime restore unmasked/ -> refused under
#                     enforce, one line naming sve; runc never runs
#
# Guest A first dumps and restores a plain `setsid sleep` (the preflight):
# a CRIU that cannot work on this kernel stops the run there with one line
# naming CRIU's version, the kernel and the end of dump.log (exit 1 under
# HWCAP_NO_SKIP=1, which make e2e sets; a loud skip, exit 0, otherwise).
# Every CRIU and runtime command in the guests runs under `timeout`, and
# each guest under run.sh --timeout.
#
# With --stock NAME both guests boot Debian's stock arm64 kernel NAME of
# test/vm/stock-kernels instead (unmodified; 9p, virtio-mmio, nf_tables and
# the sock_diag modules loaded from its package) and run `hwcapctl bpf
# install` first: the eBPF backend masks the container, and only the
# runtime's part runs (wrapped, crun, unmasked, plus bpf-install-a/b and
# wrapped-backend-bpf: the wrapper's log names backend bpf on both guests).
# Plain `criu restore` of a shim-masked process is the series' case: on the
# eBPF backend BPF state is not checkpointed and a restore must go through
# hwcap-runtime, which masks the restored tasks and cgroup again.
#
# Usage: vm-roundtrip.sh [--out DIR] [--kernel IMAGE | --stock NAME] [--cpu-a MODEL] [--keep-fixtures DIR]
#   --cpu-a MODEL        guest A's CPU (default a64fx; its capture must be in
#                        testdata/cpuinfo/arm64-MODEL.txt, max: arm64-cpu-max.txt)
#   --out DIR            results (default: a temporary directory, printed)
#   --kernel IMAGE       arm64 Image (default: test/kernel/build.sh arm64)
#   --stock NAME         a stock kernel of test/vm/stock-kernels (6.1, 6.12,
#                        7.3) and the eBPF backend
#   --keep-fixtures DIR  copy the trimmed images to DIR (internal/criuimg/testdata/arm64)
# Prints "RESULT name=... pass|fail" lines, ends with "RESULT name=all ...";
# exit 0 when all pass.
set -euo pipefail
PROG=$(basename "$0")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
die() { echo "$PROG: $*" >&2; exit 1; }

out='' kernel='' keep='' cpua=a64fx stock=
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--kernel) kernel=${2:?--kernel needs an image}; shift 2 ;;
	--stock) stock=${2:?--stock needs a name from test/vm/stock-kernels}; shift 2 ;;
	--keep-fixtures) keep=${2:?--keep-fixtures needs a directory}; shift 2 ;;
	--cpu-a) cpua=${2:?--cpu-a needs a QEMU CPU model}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
[ -n "$out" ] || out=$(mktemp -d /tmp/hwcap-criu-vm.XXXXXX)
mkdir -p "$out"
if [ -n "$stock" ]; then
	[ -z "$kernel" ] || die "--kernel and --stock: give one"
	[ -z "$keep" ] || die "--keep-fixtures: only with the patched kernel"
	[[ $stock =~ ^[0-9a-z.]+$ ]] || die "--stock \"$stock\": want a name from test/vm/stock-kernels, e.g. 6.1"
	kargs=(--stock "$stock")
	for m in 9p 9pnet_virtio virtio_mmio nf_tables unix_diag inet_diag tcp_diag udp_diag netlink_diag af_packet_diag; do
		kargs+=(--module "$m")
	done
else
	[ -n "$kernel" ] || kernel=$("$REPO/test/kernel/build.sh" arm64 | tail -n1)
	[ -f "$kernel" ] || die "--kernel \"$kernel\": no such file"
	kargs=(--kernel "$kernel")
fi
eval "$("$HERE/fetch.sh" --arch arm64)"

stage=$out/stage shared=$out/shared
rm -rf "$stage" "$shared"
mkdir -p "$shared"
mkdir -p "$stage/bin" "$stage/caps"
aarch64-linux-gnu-gcc -static -O2 -o "$stage/bin/svepath" "$HERE/payload/svepath.c"
(cd "$REPO" && GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -o "$stage/bin/" ./cmd/hwcapctl ./cmd/hwcap-shim)
capa=$REPO/testdata/cpuinfo/arm64-$cpua.txt
[ "$cpua" != max ] || capa=$REPO/testdata/cpuinfo/arm64-cpu-max.txt
[ -f "$capa" ] || die "--cpu-a $cpua: no capture $capa"
cp "$capa" "$stage/caps/a.txt"
cp "$REPO/testdata/cpuinfo/arm64-neoverse-n1.txt" "$stage/caps/"
(cd "$REPO" && GOARCH=arm64 hack/gobuild.sh "$stage/bin" ./cmd/hwcap-runtime)

# The node configuration and the container's bundle, the same in both
# guests (CRIU restores the payload's mapping of /svepath from the same
# rootfs). No network namespace: CRIU would dump it with iproute2 and
# iptables, which the guests do not carry; the container shares the
# guest's, which CRIU leaves alone.
mkdir -p "$stage/etc/hwcap/profiles" "$stage/ctr/rootfs"/{proc,dev,log,tmp}
cat >"$stage/etc/hwcap/config.json" <<'JSON'
{"defaultPolicy": "enforce", "runtimes": ["runc"], "runDir": "/run/hwcap",
 "logFile": "/var/log/hwcap/hwcap.log", "profileDir": "/etc/hwcap/profiles"}
JSON
cp "$stage/bin/svepath" "$stage/ctr/rootfs/svepath"
cat >"$stage/ctr/config.json" <<'JSON'
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/svepath", "/log/wrapped.log", "100"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": "/ctr/rootfs", "readonly": true},
  "hostname": "wrapped",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/log", "type": "bind", "source": "/work/log", "options": ["rbind", "rw"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=1024k"]}
  ],
  "annotations": {"hwcap.dev/profile": "fleet"},
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
  }
}
JSON
# The same container without hwcap annotations, run with plain runc: its
# checkpoint carries the SVE words, and the wrapper must refuse it on N1.
mkdir -p "$stage/ctrplain"
sed -e '/"annotations"/d' -e 's|/log/wrapped.log|/log/unmasked.log|' -e 's|"wrapped"|"unmasked"|' \
	"$stage/ctr/config.json" >"$stage/ctrplain/config.json"
! grep -q hwcap.dev "$stage/ctrplain/config.json" || die "ctrplain/config.json kept the annotation"
# The annotated container again, for crun (the CRIU suite's, with CRIU, from
# fetch.sh's tree): its own log file.
mkdir -p "$stage/ctrcrun"
sed -e 's|/log/wrapped.log|/log/crun.log|' -e 's|"wrapped"|"crunctr"|' "$stage/ctr/config.json" >"$stage/ctrcrun/config.json"

common=(--arch arm64 "${kargs[@]}" --add "$CRIU_ROOT:/" --add "$stage/bin/svepath:/svepath"
	--add "$stage/bin/hwcapctl:/usr/local/bin/hwcapctl" --add "$stage/bin/hwcap-shim:/usr/local/bin/hwcap-shim"
	--add "$stage/bin/hwcap-runtime:/usr/local/bin/hwcap-runtime" --add "$stage/etc:/etc" --add "$stage/ctr:/ctr" --add "$stage/ctrplain:/ctrplain" --add "$stage/ctrcrun:/ctrcrun"
	--add "$stage/caps:/caps" --share "$shared:hwcapimg" --deb runc --deb libseccomp2 --tmpfs-root
	--deb tar --deb libacl1 --deb libselinux1 --deb libpcre2-8-0 --mem 1G --timeout 300)

{ echo "BPF=${stock:+1}"; cat; } >"$stage/a.sh" <<'A'
set -u
# Checkpoints are written locally, then copied to the directory the two
# nodes share (virtio-9p from the host), as nodes share checkpoint storage.
IMG=/work/img
mkdir -p "$IMG" /shared
mount -t 9p -o trans=virtio,version=9p2000.L hwcapimg /shared || echo "shared-mount-failed"
# CRIU's kernel feature probes bind TCP sockets on loopback.
ip link set lo up
echo "guest A: $(uname -r), $(grep -m1 Features /proc/cpuinfo)"
criu --version | head -n1
criu check 2>&1 | tail -n1
# logtail LOG: what explains a failed CRIU or runtime command: its log's
# Error and Warn lines, and its last lines (a hang logs no error).
logtail() { grep -E 'Error|Warn' "$1" | head -n 20; echo "--- $1 ends:"; tail -n 3 "$1"; }
# The preflight: a plain process dumped and restored, each under a
# deadline, before anything that needs CRIU; nothing else runs without it.
mkdir -p /work/preflight
setsid sleep 1000 </dev/null >/dev/null 2>&1 &
sp=$!
ver=$(criu --version | sed -n 's/^Version: //p')
if ! timeout 60 criu dump -t "$sp" -D /work/preflight -o dump.log -v4; then
	echo "preflight=fail criu $ver cannot dump a plain setsid sleep on kernel $(uname -r) (guest A); dump.log ends: $(tail -n1 /work/preflight/dump.log)"
	exit 0
fi
wait "$sp" # reaped: the restore needs its pid
if ! timeout 60 criu restore -D /work/preflight -d -o restore.log -v4; then
	echo "preflight=fail criu $ver cannot restore a plain setsid sleep on kernel $(uname -r) (guest A); restore.log ends: $(tail -n1 /work/preflight/restore.log)"
	exit 0
fi
kill -9 "$sp"
echo "preflight=pass criu $ver, kernel $(uname -r)"
mkdir -p /work
if [ -n "$BPF" ]; then
	# The eBPF backend on the stock kernel, installed once per node.
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	hwcapctl bpf install 2>&1
	echo "bpf-install-rc=$?"
	hwcapctl probe 2>&1 | grep -E '^path bpf|backend'
fi
# Push the pid counter past what guest B's boot and tools will use, so the
# restored pids are free there.
for i in $(seq 300); do /bin/true; done
dump() { # NAME PID
	mkdir -p "$IMG/$1"
	if timeout 120 criu dump -t "$2" -D "$IMG/$1" -o dump.log -v4; then echo "RESULT name=dump-$1 pass"; else
		echo "RESULT name=dump-$1 fail"; logtail "$IMG/$1/dump.log"; fi
}
hwcapctl baseline /caps/a.txt /caps/arm64-neoverse-n1.txt -o /work/profile.json 2>&1
cp /work/profile.json "$IMG/"
# Plain CRIU (no runtime) of a process and of a shim-masked one: the
# series' checks. On the eBPF backend a restore must go through
# hwcap-runtime (BPF state is not checkpointed), so these are skipped.
if [ -z "$BPF" ]; then
setsid /svepath /work/plain.log 100 </dev/null >/dev/null 2>&1 &
p=$!
sleep 2
tail -n1 /work/plain.log
dump plain "$p"
setsid hwcap-shim --profile /work/profile.json --policy enforce -- /svepath /work/masked.log 100 </dev/null >/dev/null 2>&1 &
m=$!
sleep 2
tail -n1 /work/masked.log
dump masked "$m"
cp /work/plain.log /work/masked.log "$IMG/"
fi

# Through the wrapper: a runc container whose hwcap.dev/profile is that
# baseline. hwcap-runtime masks itself and execs runc; runc's init and the
# payload inherit the words; runc checkpoint drives CRIU.
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /work/log /var/log/hwcap
cp /work/profile.json /etc/hwcap/profiles/fleet.json
# wrapped NAME ID BUNDLE [RUNTIME]: hwcap-runtime run -d (real runtime
# RUNTIME, default the node's runc) of the container whose payload logs to
# /work/log/NAME.log, then hwcap-runtime checkpoint into $IMG/NAME.
# The container inherits the runtime's stdio with -d, and CRIU dumps only
# files it can reach from the container: /dev/null, and --log for messages.
wrapped() {
	name=$1 id=$2 bundle=$3 rt=${4:-}
	mkdir -p "/work/c-$name"
	timeout 120 env ${rt:+"HWCAP_RUNTIME=$rt"} hwcap-runtime --log "/work/run-$name.log" run -d --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1
	echo "run-$name-rc=$?"
	cat "/work/run-$name.log" 2>/dev/null
	sleep 2
	tail -n1 "/work/log/$name.log"
	timeout 120 env ${rt:+"HWCAP_RUNTIME=$rt"} hwcap-runtime checkpoint --image-path "$IMG/$name" --work-path "/work/c-$name" "$id" 2>&1
	rc=$?
	echo "checkpoint-$name-rc=$rc"
	[ $rc = 0 ] || { logtail "/work/c-$name/dump.log"; cp "/work/c-$name/dump.log" "$OUT/criu-dump-$name.log"; }
	cp "/work/log/$name.log" "$IMG/"
}
wrapped wrapped wrapped /ctr
# The same through hwcap-runtime with crun as the real runtime.
wrapped crun crunctr /ctrcrun crun

# The same container unmasked, with plain runc: the SVE path.
timeout 120 runc run -d --bundle /ctrplain unmasked </dev/null >/dev/null 2>&1
echo "run-unmasked-rc=$?"
sleep 2
tail -n1 /work/log/unmasked.log
timeout 120 runc checkpoint --image-path "$IMG/unmasked" --work-path /work/cu unmasked 2>&1
echo "checkpoint-unmasked-rc=$?"
cp /work/log/unmasked.log /var/log/hwcap/hwcap.log "$IMG/"
mkdir -p /shared/img
cp -a "$IMG/." /shared/img/
echo "images-shared-rc=$?"
A

{ echo "BPF=${stock:+1}"; cat; } >"$stage/b.sh" <<'B'
set -u
logtail() { grep -E 'Error|Warn' "$1" | head -n 20; echo "--- $1 ends:"; tail -n 3 "$1"; }
mkdir -p /shared
mount -t 9p -o trans=virtio,version=9p2000.L hwcapimg /shared || echo "shared-mount-failed"
cp -a /shared/img /img
ip link set lo up
echo "guest B: $(uname -r), $(grep -m1 Features /proc/cpuinfo)"
mkdir -p /work
if [ -n "$BPF" ]; then
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
	hwcapctl bpf install 2>&1
	echo "bpf-install-rc=$?"
fi
if [ -z "$BPF" ]; then
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
fi
# The wrapped container: check-image, then restore through hwcap-runtime,
# which runs the same check before it hands over to runc restore.
grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /work/log /var/log/hwcap
cp /img/profile.json /etc/hwcap/profiles/fleet.json
# restored NAME ID BUNDLE [RUNTIME]: hwcap-runtime restore of /img/NAME
# (real runtime RUNTIME, default the node's runc); the payload's ticks
# before and after, then a child forked after the restore (NAME-after.log).
restored() {
	name=$1 id=$2 bundle=$3 rt=${4:-}
	cp "/img/$name.log" /work/log/
	mkdir -p "/work/r-$name"
	n=$(wc -l <"/work/log/$name.log")
	timeout 120 env ${rt:+"HWCAP_RUNTIME=$rt"} hwcap-runtime --log "/work/restore-$name.log" restore -d --image-path "/img/$name" --work-path "/work/r-$name" --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1
	rc=$?
	echo "restore-$name-rc=$rc"
	cat "/work/restore-$name.log" 2>/dev/null
	[ $rc = 0 ] || { logtail "/work/r-$name/restore.log"; cp "/work/r-$name/restore.log" "$OUT/criu-restore-$name.log"; }
	sleep 2
	echo "$name ticks before=$n after=$(wc -l <"/work/log/$name.log")"
	touch "/work/log/$name.log.fork"
	sleep 2
	tail -n 2 "/work/log/$name.log"
	cp "/work/log/$name.log" "$OUT/$name-after.log"
}
hwcapctl check-image /img/wrapped
echo "check-image-wrapped-rc=$?"
restored wrapped wrapped /ctr
timeout 30 runc state wrapped | grep -E '"(status|pid)"'
grep '"stage":"restore"' /var/log/hwcap/hwcap.log
# The crun container: checked and restored by crun through the wrapper.
restored crun crunctr /ctrcrun crun

# The unmasked container's checkpoint: the wrapper refuses it under the
# node's enforce policy with one line naming the missing features, and
# runc never runs.
cp /img/unmasked.log /work/log/
timeout 120 hwcap-runtime --log /work/restore-unmasked.log restore -d --image-path /img/unmasked --work-path /work/ru --bundle /ctrplain unmasked </dev/null >/dev/null 2>&1
echo "restore-unmasked-rc=$?"
cat /work/restore-unmasked.log
if timeout 30 runc state unmasked >/dev/null 2>&1; then echo "unmasked: runc has it"; else echo "unmasked: runc has no such container"; fi
[ -e /work/ru ] && echo "unmasked: work path exists"
cp /var/log/hwcap/hwcap.log "$OUT/hwcap-b.log"
[ -z "$BPF" ] || hwcapctl bpf status 2>&1
[ -z "$BPF" ] || exit 0

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
# The preflight's verdict: this CRIU cannot work on this kernel.
if pre=$(grep -m1 '^preflight=fail ' "$out/a/output.txt" 2>/dev/null); then
	case ${HWCAP_NO_SKIP:-}${CI:-} in
	1* | true* | *true | *1)
		echo "RESULT name=criu-preflight fail"
		echo "RESULT name=all fail"
		die "CRIU preflight: ${pre#preflight=fail }" ;;
	esac
	echo "RESULT name=criu-preflight skip"
	echo "*** SKIP $PROG: CRIU preflight: ${pre#preflight=fail } (HWCAP_NO_SKIP=1 makes this a failure) ***" >&2
	exit 0
fi
[ -n "$(ls -A "$shared/img" 2>/dev/null)" ] || die "guest A left no images in $shared/img (see $out/a/console.log)"
log "guest B (-cpu neoverse-n1): check and restore"
"$REPO/test/vm/run.sh" "${common[@]}" --cpu neoverse-n1 --append print-fatal-signals=1 --script "$stage/b.sh" --out "$out/b" || true
cat "$out/b/output.txt" 2>/dev/null || true

o=$out/b/output.txt
res() { if eval "$2"; then echo "RESULT name=$1 pass"; else echo "RESULT name=$1 fail"; fail=1; fi; }
fail=0
res criu-preflight "grep -q '^preflight=pass' '$out/a/output.txt'"
res images-shared "grep -q 'images-shared-rc=0' '$out/a/output.txt' && ! grep -q shared-mount-failed '$out/a/output.txt' '$out/b/output.txt'"
[ -n "$stock" ] || res dump-plain "grep -q 'RESULT name=dump-plain pass' '$out/a/output.txt'"
[ -n "$stock" ] || res dump-masked "grep -q 'RESULT name=dump-masked pass' '$out/a/output.txt'"
[ -n "$stock" ] || res sve-path-unmasked "tail -n1 '$shared/img/plain.log' | grep -q 'path=sve'"
[ -n "$stock" ] || res neon-path-masked "tail -n1 '$shared/img/masked.log' | grep -q 'path=neon'"
[ -n "$stock" ] || res check-plain-incompatible "grep -q 'check-image-plain-rc=1' '$o' && grep -qE '^incompatible: .*[ :]sve( |$)' '$o'"
[ -n "$stock" ] || res check-masked-compatible "grep -q 'check-image-masked-rc=0' '$o'"
[ -n "$stock" ] || res restore-plain-sigill "grep -q 'plain pid [0-9]* gone' '$o' && grep -qE 'svepath.*potentially unexpected fatal signal 4\.' '$o'"
[ -n "$stock" ] || res restore-masked-runs "grep -q 'restore-masked-rc=0' '$o' && awk '/masked ticks/ {split(\$3,a,\"=\"); split(\$4,b,\"=\"); exit !(b[2] > a[2])}' '$o'"
[ -n "$stock" ] || res child-after-restore-masked "grep -q '^child pid=.* path=neon' '$out/b/files/masked.log'"
res wrapped-run "grep -q 'run-wrapped-rc=0' '$out/a/output.txt' && tail -n1 '$shared/img/wrapped.log' | grep -q 'path=neon'"
res wrapped-checkpoint "grep -q 'checkpoint-wrapped-rc=0' '$out/a/output.txt'"
res wrapped-check-compatible "grep -q 'check-image-wrapped-rc=0' '$o'"
res wrapped-restore-runs "grep -q 'restore-wrapped-rc=0' '$o' && awk '/wrapped ticks/ {split(\$3,a,\"=\"); split(\$4,b,\"=\"); exit !(b[2] > a[2])}' '$o'"
res wrapped-restore-checked "grep '\"stage\":\"restore\"' '$out/b/files/hwcap-b.log' | grep -q '\"decision\":\"superset\"'"
res wrapped-child-after-restore "awk '/^tick/ {h=\$5} /^child/ {c=\$3; p=\$5} END {exit !(c != \"\" && c == h && p == \"path=neon\")}' '$out/b/files/wrapped-after.log'"
res crun-run "grep -q 'run-crun-rc=0' '$out/a/output.txt' && grep -q 'checkpoint-crun-rc=0' '$out/a/output.txt' && tail -n1 '$shared/img/crun.log' | grep -q 'path=neon'"
res crun-restore-runs "grep -q 'restore-crun-rc=0' '$o' && awk '/crun ticks/ {split(\$3,a,\"=\"); split(\$4,b,\"=\"); exit !(b[2] > a[2])}' '$o'"
res crun-child-after-restore "awk '/^tick/ {h=\$5} /^child/ {c=\$3; p=\$5} END {exit !(c != \"\" && c == h && p == \"path=neon\")}' '$out/b/files/crun-after.log'"
res unmasked-sve-path "grep -q 'run-unmasked-rc=0' '$out/a/output.txt' && grep -q 'checkpoint-unmasked-rc=0' '$out/a/output.txt' && tail -n1 '$shared/img/unmasked.log' | grep -q 'path=sve'"
res unmasked-restore-refused "grep -q 'restore-unmasked-rc=1' '$o' && grep -q 'runc has no such container' '$o' && ! grep -q 'unmasked: work path exists' '$o' && grep -qE 'refusing restore under policy enforce: .*were started with .*sve' '$o'"
if [ -n "$stock" ]; then
	res bpf-install-a "grep -q 'bpf-install-rc=0' '$out/a/output.txt'"
	res bpf-install-b "grep -q 'bpf-install-rc=0' '$o'"
	res wrapped-backend-bpf "grep '\"component\":\"hwcap-runtime\"' '$shared/img/hwcap.log' | grep -q '\"backend\":\"bpf\"' && grep '\"stage\":\"restore\"' '$out/b/files/hwcap-b.log' | grep -q '\"backend\":\"bpf\"'"
fi
if [ -n "$keep" ]; then
	for n in plain masked wrapped unmasked; do
		rm -rf "${keep:?}/$n"
		mkdir -p "$keep/$n"
		cp "$shared/img/$n"/{inventory.img,pstree.img} "$shared/img/$n"/core-*.img "$shared/img/$n"/mm-*.img "$keep/$n/"
	done
	cp "$shared/img/profile.json" "$keep/"
fi
echo "results in $out"
if [ $fail = 0 ]; then echo "RESULT name=all pass"; else echo "RESULT name=all fail"; exit 1; fi
