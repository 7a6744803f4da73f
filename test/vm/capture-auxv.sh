#!/usr/bin/env bash
# capture-auxv.sh: boot stock Debian kernels under QEMU TCG on several CPU
# models and save, for each, the guest's /proc/self/auxv (of busybox cat),
# /proc/cpuinfo and the AT_HWCAP* words the static payload auxvwords read
# from its initial stack. Also takes this host's own. Writes:
#   internal/auxv/testdata/NAME.bin      raw /proc/self/auxv
#   internal/auxv/testdata/NAME.txt      sidecar: how it was captured and
#                                        the expected at_hwcapN words
#   internal/auxv/testdata/NAME.cpuinfo  /proc/cpuinfo
#   testdata/cpuinfo/NAME.txt            the same cpuinfo, for fleet tooling
#
# Usage: capture-auxv.sh [--check] [NAME...]
#   NAME    capture only these (default: all; see CONFIGS below)
#   --check capture into a scratch directory and compare the AT_HWCAP*
#           words with the committed sidecars instead of writing testdata
#           (addresses and AT_RANDOM differ on every boot; the words must
#           not). The host capture is compared only when named.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$VM_DIR/../.." && pwd)
# NAME ARCH CPU ("-" = QEMU's default model)
CONFIGS="
arm64-cpu-max arm64 max
arm64-neoverse-n1 arm64 neoverse-n1
arm64-a64fx arm64 a64fx
arm64-cortex-a72 arm64 cortex-a72
x86_64-tcg amd64 -
x86_64-max amd64 max
x86_64-haswell amd64 Haswell
x86_64-skylake-server amd64 Skylake-Server
x86_64-epyc amd64 EPYC
x86_64-host host -
"

check=
only=()
for a in "$@"; do
	case $a in
	--check) check=1 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option \"$a\" (see --help)" ;;
	*)
		echo "$CONFIGS" | awk '{print $1}' | grep -qx -- "$a" ||
			die "capture \"$a\": unknown name (known: $(echo "$CONFIGS" | awk 'NF {printf "%s ", $1}'))"
		only+=("$a")
		;;
	esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# words FILE: the at_hwcapN lines of a raw little-endian 64-bit auxv, decoded
# with od (independently of the Go decoder).
words() {
	od -A n -v -t x8 -w16 "$1" | awk '
		BEGIN { n["0000000000000010"]="at_hwcap"; n["000000000000001a"]="at_hwcap2";
			n["000000000000001d"]="at_hwcap3"; n["000000000000001e"]="at_hwcap4" }
		$1 == "0000000000000000" { exit }
		$1 in n && !($1 in seen) { seen[$1]=1; v[n[$1]]=$2 }
		END { split("at_hwcap at_hwcap2 at_hwcap3 at_hwcap4", k, " ")
			for (i = 1; i <= 4; i++) {
				if (k[i] in v) { s = v[k[i]]; sub(/^0+/, "", s); if (s == "") s = "0"; print k[i] ": 0x" s }
				else print k[i] ": absent" } }'
}

payload() { # payload ARCH: build the static auxvwords for ARCH once
	local cc
	case $1 in amd64) cc=gcc ;; arm64) cc=aarch64-linux-gnu-gcc ;; esac
	command -v "$cc" >/dev/null || die "$cc not found: apt-get install gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
	[ -x "$work/auxvwords-$1" ] ||
		"$cc" -static -O2 -Wall -o "$work/auxvwords-$1" "$VM_DIR/payload/auxvwords.c"
	echo "$work/auxvwords-$1"
}

cat >"$work/guest.sh" <<'GUEST'
set -e
cat /proc/self/auxv >"$OUT/auxv.bin"
cat /proc/cpuinfo >"$OUT/cpuinfo"
/bin/auxvwords >"$OUT/words.txt"
uname -r >"$OUT/release"
cat "$OUT/words.txt"
GUEST

failed=0
summary=()
while read -r name arch cpu; do
	[ -n "$name" ] || continue
	if [ ${#only[@]} -gt 0 ] && ! printf '%s\n' "${only[@]}" | grep -qx -- "$name"; then
		continue
	fi
	d=$work/$name
	mkdir -p "$d/files"
	if [ "$arch" = host ]; then
		[ "$(uname -m)" = x86_64 ] || { log "$name: skipped, host is $(uname -m)"; continue; }
		# Another machine may have another CPU: check the host only on request.
		if [ -n "$check" ] && [ ${#only[@]} -eq 0 ]; then
			log "$name: not checked (this machine's CPU need not be the capturing one's; name it to check)"
			continue
		fi
		cat /proc/self/auxv >"$d/files/auxv.bin"
		cat /proc/cpuinfo >"$d/files/cpuinfo"
		"$(payload amd64)" >"$d/files/words.txt"
		uname -r >"$d/files/release"
		how="this host, no VM: cat /proc/self/auxv (GNU coreutils) as root"
		kernel="$(uname -r) (the host's running kernel)"
		qemu="none"
		secs=0
	else
		args=(--arch "$arch" --script "$work/guest.sh" --out "$d" --add "$(payload "$arch"):/bin/auxvwords")
		[ "$cpu" = - ] || args+=(--cpu "$cpu")
		"$VM_DIR/run.sh" "${args[@]}"
		how="QEMU TCG guest, busybox initramfs (test/vm/run.sh): busybox cat /proc/self/auxv as PID 1's child"
		kernel="$(cat "$d/files/release") ($(sed -n 's/^kernel: \([^ ]*\).*/\1/p' "$d/kernel.txt"))"
		# Paths of this machine's cache and scratch files are not reproducible.
		qemu=$(sed -e 's|-kernel [^ ]*|-kernel vmlinuz|' -e 's|-initrd [^ ]*|-initrd initrd.gz|' \
			-e 's|-serial file:[^ ]*|-serial file:console.log|' "$d/qemu.cmd")
		secs=$(cat "$d/seconds")
	fi
	f=$d/files
	want=$(grep '^at_hwcap' "$f/words.txt")
	got=$(words "$f/auxv.bin")
	if [ "$want" != "$got" ]; then
		echo "$PROG: $name: /proc/self/auxv and the payload's stack disagree:" >&2
		diff <(echo "$want") <(echo "$got") >&2 || true
		failed=1
		continue
	fi
	summary+=("$name: $(echo "$want" | tr '\n' ' ')(${secs}s)")
	td=$ROOT/internal/auxv/testdata
	if [ -n "$check" ]; then
		committed=$(grep '^at_hwcap' "$td/$name.txt" 2>/dev/null || true)
		if [ "$committed" != "$want" ]; then
			echo "$PROG: $name: words differ from $td/$name.txt:" >&2
			diff <(echo "$committed") <(echo "$want") >&2 || true
			failed=1
		fi
		continue
	fi
	mkdir -p "$td" "$ROOT/testdata/cpuinfo"
	cp "$f/auxv.bin" "$td/$name.bin"
	cp "$f/cpuinfo" "$td/$name.cpuinfo"
	cp "$f/cpuinfo" "$ROOT/testdata/cpuinfo/$name.txt"
	{
		echo "# $name.bin: a real /proc/self/auxv, captured by test/vm/capture-auxv.sh."
		echo "# The at_hwcapN lines are the words the static payload test/vm/payload/auxvwords"
		echo "# read from its own initial stack in the same boot (not from this file);"
		echo "# getauxval_* is what glibc's getauxval returned (glibc rewrites AT_HWCAP on x86)."
		echo "format: LE64"
		echo "arch: $([ "$arch" = host ] && echo amd64 || echo "$arch")"
		echo "cpu: $([ "$cpu" = - ] && echo default || echo "$cpu")"
		echo "how: $how"
		echo "kernel: $kernel"
		echo "qemu: $qemu"
		if [ "$qemu" = none ]; then
			echo "qemu-version: none"
		else
			echo "qemu-version: $("$(awk '{print $1}' <<<"$qemu")" --version | head -n1)"
		fi
		echo "boot-seconds: $secs"
		if [ -s "$d/qemu.stdout" ]; then
			# CPUID bits of the model that TCG cannot emulate (x86): absent in the guest.
			dropped=$(sed -n 's/.*TCG doesn.t support requested feature: CPUID[^.]*\.[^.]*\.\([^ ]*\) .*/\1/p' "$d/qemu.stdout" | tr '\n' ' ')
			[ -z "$dropped" ] || echo "tcg-dropped: ${dropped% }"
		fi
		grep -E '^(at_|getauxval_)hwcap' "$f/words.txt"
	} >"$td/$name.txt"
done <<<"$CONFIGS"

printf '%s\n' "${summary[@]}" >&2
[ "$failed" = 0 ] || die "some captures failed (see above)"
