#!/usr/bin/env bash
# mkfixtures.sh: make the real CRIU image fixtures of internal/criuimg on
# this (x86_64) host, with CRIU from fetch.sh, and check that each dump
# restores and keeps running.
#
#   criu-tree   criu dump -t of a process tree: svepath (payload/svepath.c,
#               static) and a child svepath started through /bin/sh
#   criu-masked criu dump -t of maskpayload, which hid features from its own
#               saved auxv (PR_SET_MM_MAP) before the dump
#   runc        runc checkpoint (runc --criu PATH) of a container whose
#               init is svepath
#   podman-export.tar.zst
#               podman container checkpoint --export (podman's default zstd
#               compression; kept whole: the archive format is the point)
#
# Only the images hwcap reads are kept (inventory.img, pstree.img,
# core-*.img, mm-*.img): no memory pages, no file contents.
#
# Usage: mkfixtures.sh [OUTDIR]   (default internal/criuimg/testdata/x86_64)
# Needs root, gcc, go, runc. Prints one "fixture NAME ..." line per image set.
# Every CRIU, runc and podman command runs under `timeout 120`. Under
# flock(1), use flock -o: a dumped process must not inherit the lock (CRIU
# refuses to dump a process holding a file lock).
set -euo pipefail
PROG=$(basename "$0")
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
die() { echo "$PROG: $*" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || die "run on x86_64 (arm64 fixtures come from vm-roundtrip.sh)"
out=${1:-$REPO/internal/criuimg/testdata/x86_64}
eval "$("$HERE/fetch.sh")"
[ -n "$CRIU" ] || die "fetch.sh made no criu wrapper for this architecture"

work=$(mktemp -d /tmp/hwcap-criu-fixtures.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do pkill -KILL -P "$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
	runc delete -f "hwcap-fixture-$$" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

gcc -static -O2 -o "$work/svepath" "$HERE/payload/svepath.c"
(cd "$REPO" && CGO_ENABLED=0 go build -trimpath -o "$work/maskpayload" ./test/criu/maskpayload)

# start PIDFILE CMD...: run CMD in a new session, reparented to init (a
# dumped child of this script would stay a zombie and keep its pid, and
# restore needs that pid), and add its pid to pids.
start() {
	local pidf=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner sh
	(setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" </dev/null >/dev/null 2>&1 &)
	for _ in $(seq 50); do
		[ -s "$pidf" ] && break
		sleep 0.1
	done
	[ -s "$pidf" ] || die "$*: did not start"
	pids+=("$(cat "$pidf")")
}
# ticks FILE: the number of lines in FILE.
ticks() { wc -l <"$1" 2>/dev/null || echo 0; }
# waitgrow FILE: wait until FILE gains lines (the process runs).
waitgrow() {
	local n
	n=$(ticks "$1")
	for _ in $(seq 50); do
		sleep 0.1
		[ "$(ticks "$1")" -gt "$n" ] && return 0
	done
	die "$1 did not grow: the process is not running"
}
# keep SRC NAME: copy the images hwcap reads into $out/NAME.
keep() {
	rm -rf "${out:?}/$2"
	mkdir -p "$out/$2"
	cp "$1"/inventory.img "$1"/pstree.img "$1"/core-*.img "$1"/mm-*.img "$out/$2/"
	echo "fixture $2: $(find "$out/$2" -type f | wc -l) files, $(du -sb "$out/$2" | cut -f1) bytes"
}
# dumprestore NAME PID LOG: criu dump the tree at PID, restore it, check
# LOG grows again, kill it, keep the images.
dumprestore() {
	local name=$1 pid=$2 log=$3 img=$work/$1
	mkdir -p "$img"
	timeout 120 "$CRIU" dump -t "$pid" -D "$img" -o dump.log -v4 || { tail -20 "$img/dump.log"; die "$name: criu dump failed"; }
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && die "$name: pid $pid still exists 5 s after the dump"
	timeout 120 "$CRIU" restore -D "$img" -d -o restore.log -v4 || { tail -20 "$img/restore.log"; die "$name: criu restore failed"; }
	waitgrow "$log"
	echo "$name: restored pid $pid, $(tail -n1 "$log")"
	pkill -KILL -P "$pid" 2>/dev/null || true
	kill -KILL "$pid"
	keep "$img" "$name"
}

# 1. A process tree: sh execs svepath after starting a child svepath.
start "$work/tree.pid" sh -c "'$work/svepath' '$work/child.log' 100 & exec '$work/svepath' '$work/tree.log' 100"
waitgrow "$work/tree.log"
waitgrow "$work/child.log"
dumprestore criu-tree "${pids[-1]}" "$work/tree.log"

# 2. A process that masked itself.
start "$work/masked.pid" "$work/maskpayload" -deny vme,ht,fsgsbase -log "$work/masked.log" -tick 100ms
waitgrow "$work/masked.log"
dumprestore criu-masked "${pids[-1]}" "$work/masked.log"

# 3. runc checkpoint of a container running svepath as its init.
b=$work/bundle
mkdir -p "$b/rootfs/log" "$work/runc-out"
cp "$work/svepath" "$b/rootfs/svepath"
(cd "$b" && runc spec)
python3 - "$b/config.json" "$work/runc-out" <<'PY'
import json, sys
p, out = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/svepath", "/log/log", "100"]
c["root"]["readonly"] = False
c["mounts"].append({"destination": "/log", "type": "bind", "source": out, "options": ["rbind", "rw"]})
json.dump(c, open(p, "w"), indent=1)
PY
id=hwcap-fixture-$$
(cd "$b" && timeout 120 runc run -d "$id" </dev/null >/dev/null 2>&1)
waitgrow "$work/runc-out/log"
timeout 120 runc --criu "$CRIU" checkpoint --image-path "$work/runc" --work-path "$work/runc-work" "$id" ||
	{ tail -20 "$work/runc-work/dump.log"; die "runc checkpoint failed"; }
(cd "$b" && timeout 120 runc --criu "$CRIU" restore -d --image-path "$work/runc" --work-path "$work/runc-work2" "$id" </dev/null >/dev/null 2>&1) ||
	{ tail -20 "$work/runc-work2/restore.log"; die "runc restore failed"; }
waitgrow "$work/runc-out/log"
echo "runc: restored, $(tail -n1 "$work/runc-out/log")"
runc delete -f "$id"
keep "$work/runc" runc

# 4. podman container checkpoint --export of a --rootfs container running
# svepath (podman finds criu on PATH).
mkdir -p "$work/pbin" "$work/prootfs"
ln -s "$CRIU" "$work/pbin/criu"
cp "$work/svepath" "$work/prootfs/svepath"
pod=hwcap-fixture-$$
podopts=(--runtime runc --cgroup-manager cgroupfs)
PATH=$work/pbin:$PATH timeout 120 podman run -d --name "$pod" "${podopts[@]}" --network none --ulimit nofile=1024:1024 \
	--ulimit nproc=1024:1024 --rootfs "$work/prootfs" /svepath /svepath.log 100 >/dev/null
sleep 1
PATH=$work/pbin:$PATH timeout 120 podman container checkpoint "${podopts[@]}" --export "$out/podman-export.tar.zst" "$pod" >/dev/null
timeout 120 podman rm -f "$pod" >/dev/null
echo "fixture podman-export.tar.zst: $(stat -c %s "$out/podman-export.tar.zst") bytes"
"$CRIU" --version | head -n1 >"$out/criu-version.txt"
uname -r >"$out/kernel.txt"
