#!/usr/bin/env bash
# check.sh ARCH — prove the HWCAP inheritance semantics of the test kernel.
#
# ARCH is x86_64 or arm64. Builds (or takes from the cache) the patched test
# kernel with build.sh, compiles selftest/hwcap_inherit.c statically for
# ARCH, and runs it
#   1. in qemu (test/vm/run.sh, TCG, -cpu max) on the patched kernel, through
#      PR_SET_MM_MAP as root, PR_SET_MM_MAP as uid 65534 (no capabilities)
#      and PR_SET_MM_AUXV as root: every run must report "inherited";
#   2. in qemu on Debian's stock kernel (run.sh's default): "not-inherited";
#   3. on the host, when ARCH is the host's: "not-inherited" (unless the host
#      kernel carries the series; set HWCAP_HOST_EXPECT=inherited then).
# Output: one line per check,
#   RESULT arch=<arch> kernel=<test|stock|host> run=<run> name=<check> pass|fail ...
# and a last line "RESULT arch=<arch> name=all pass|fail". Exit 0 when every
# check passed, 1 otherwise. Work files: $HWCAP_CACHE/kernel/check-<arch>/.
set -euo pipefail

die() { printf 'check.sh: %s\n' "$*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: check.sh ARCH (ARCH is x86_64 or arm64)"
arch=$1
case $arch in
x86_64) cc=gcc cc32='' cpu=max ;;
arm64) cc=aarch64-linux-gnu-gcc cc32=arm-linux-gnueabihf-gcc cpu=max ;;
*) die "unknown ARCH \"$arch\": use x86_64 or arm64" ;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runner=$here/../vm/run.sh
[[ -x $runner ]] || die "missing $runner: the VM runner is part of the checkout"
for c in $cc $cc32; do
	command -v "$c" >/dev/null ||
		die "missing $c: apt-get install gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
done
host_expect=${HWCAP_HOST_EXPECT:-not-inherited}
case $host_expect in inherited | not-inherited) ;; *) die "bad HWCAP_HOST_EXPECT \"$host_expect\": use inherited or not-inherited" ;; esac

work=${HWCAP_CACHE:-/var/cache/hwcap}/kernel/check-$arch
mkdir -p "$work"
image=$("$here/build.sh" "$arch")
adds=()
build_selftest() { # build_selftest COMPILER NAME: static build, added to the initramfs as /NAME
	"$1" -static -O2 -Wall -Wextra -Werror -o "$work/$2" "$here/selftest/hwcap_inherit.c" ||
		die "compiling selftest/hwcap_inherit.c with $1 failed"
	adds+=(--add "$work/$2:/$2")
}
build_selftest "$cc" hwcap_inherit
[[ -z $cc32 ]] || build_selftest "$cc32" hwcap_inherit32

# guest_script EXPECT RUN...: the script run.sh runs in the guest; each RUN
# is "NAME ARGS" for one hwcap_inherit invocation.
guest_script() {
	local expect=$1 r
	shift
	cat <<EOF
rc=0
run() { # run NAME PROGRAM ARGS...: RESULT lines get the run name
	name=\$1 prog=\$2; shift 2
	\$prog --expect $expect "\$@" >/tmp/out 2>&1 || rc=1
	sed -n "s/^RESULT /RESULT run=\$name /p" /tmp/out
	grep -v '^RESULT ' /tmp/out | sed 's/^/# /'
}
EOF
	for r in "$@"; do echo "run $r"; done
	# shellcheck disable=SC2016 # $rc expands in the guest
	echo 'exit $rc'
}
runs=("map-root /hwcap_inherit --path map"
	"map-uid65534 /hwcap_inherit --path map --as-uid 65534"
	"auxv-root /hwcap_inherit --path auxv")
if [[ -n $cc32 ]]; then
	# AArch64 -> AArch32 -> AArch64 ends the inheritance; AArch32 -> AArch32
	# keeps it (the AArch32 build sets its mask with PR_SET_MM_AUXV).
	runs+=("compat-switch-root /hwcap_inherit --path map --compat /hwcap_inherit32"
		"aarch32-auxv-root /hwcap_inherit32 --path auxv --direct")
fi
guest_script inherited "${runs[@]}" >"$work/test.sh"
guest_script not-inherited "map-root /hwcap_inherit --path map" >"$work/stock.sh"

status=0
emit() { # emit KERNEL FILE: prefix the RESULT lines of FILE
	local kernel=$1 file=$2
	sed -n "s/^RESULT /RESULT arch=$arch kernel=$kernel /p" "$file"
	grep -q '^RESULT ' "$file" || { echo "RESULT arch=$arch kernel=$kernel name=ran fail (no results)"; status=1; }
	if grep -q '^RESULT .* fail' "$file"; then status=1; fi
}

vm() { # vm KERNEL SCRIPT [run.sh args]
	local kernel=$1 script=$2
	shift 2
	local out=$work/vm-$kernel
	if ! "$runner" --arch "$arch" --cpu "$cpu" --script "$script" --out "$out" \
		"${adds[@]}" --timeout 600 "$@" >&2; then
		[[ -f $out/output.txt ]] || : >"$out/output.txt"
		status=1
	fi
	emit "$kernel" "$out/output.txt"
	echo "# $kernel kernel: boot+run $(cat "$out/seconds" 2>/dev/null || echo ?)s" >&2
}

vm test "$work/test.sh" --kernel "$image"
vm stock "$work/stock.sh"

hostarch=$(uname -m)
[[ $hostarch == aarch64 ]] && hostarch=arm64
if [[ $hostarch == "$arch" ]]; then
	"$work/hwcap_inherit" --expect "$host_expect" >"$work/host.out" 2>&1 || true
	sed -i "s/^RESULT /RESULT run=map-$(id -un) /" "$work/host.out"
	emit "host-$(uname -r)" "$work/host.out"
fi

if ((status == 0)); then
	echo "RESULT arch=$arch name=all pass"
else
	echo "RESULT arch=$arch name=all fail"
fi
exit "$status"
