#!/usr/bin/env bash
# fetch.sh: CRIU (and crun with CRIU support) from a newer Debian suite,
# runnable next to this system's libc without installing it.
#
# Debian 12's criu 3.17.1 fails at dump on kernels >= 6.1x ("vdso: Failed
# to fill self vdso symtable"); trixie's 4.1.1 needs libc6 >= 2.38, and
# installing it with apt would upgrade the host's libc. So the package and
# the closure of its dependencies in SUITE are downloaded with apt-get
# download (through test/vm/fetch.sh, cached) and merged into one tree:
#   ${HWCAP_CACHE:-/var/cache/hwcap}/criu/<arch>-<suite>/root/
# The tree also holds SUITE's crun and libcriu2: Debian 12's crun 1.8.1 is
# built without CRIU, trixie's 1.21 checkpoints and restores through
# libcriu (which runs `criu swrk` from PATH).
# For the host's architecture wrapper scripts
#   ${HWCAP_CACHE:-/var/cache/hwcap}/criu/<arch>-<suite>/criu
#   ${HWCAP_CACHE:-/var/cache/hwcap}/criu/<arch>-<suite>/crun
# run root/usr/sbin/criu and root/usr/bin/crun with that tree's dynamic
# loader and libraries (runc checkpoint --criu PATH accepts the criu one:
# it keeps fd 3 for swrk).
# For arm64 the tree is meant for a guest's root file system (test/vm).
#
# Usage: fetch.sh [--arch amd64|arm64] [--suite trixie]
# Output (stdout, shell-quoted, for eval): CRIU_ROOT=... CRIU=... CRUN=... CRIU_PKGS=...
set -euo pipefail
PROG=$(basename "$0")
die() { echo "$PROG: $*" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
VM=$HERE/../vm

arch=$(dpkg --print-architecture) suite=trixie
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
	--suite) suite=${2:?--suite needs a Debian suite}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
case $arch in amd64 | x86_64) arch=amd64 ;; arm64 | aarch64) arch=arm64 ;; *) die "--arch \"$arch\": want amd64 or arm64" ;; esac
case $suite in *[!a-z0-9-]* | '') die "--suite \"$suite\": not a suite name" ;; esac

CACHE=${HWCAP_CACHE:-/var/cache/hwcap}/criu/$arch-$suite
mkdir -p "$CACHE"
exec 8>"$CACHE/.lock"
flock 8

# The dependency closure, resolved in SUITE (Default-Release makes its
# versions the candidates), without recommends: criu's binary needs only
# its shared libraries.
pkgs=$(apt-cache -o APT::Default-Release="$suite" -o APT::Architecture="$arch" \
	depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances "criu:$arch" "crun:$arch" "libcriu2:$arch" 2>/dev/null |
	sed -n 's/^\([a-z0-9][a-z0-9.+-]*\)\(:'"$arch"'\)\{0,1\}$/\1/p' | sort -u)
echo "$pkgs" | grep -qx criu || die "apt-cache found no criu for $arch in $suite (apt-get update? is $suite in sources.list?)"
key=$(echo "$arch $suite $pkgs" | md5sum | cut -c1-16)
if [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$key" ]; then
	:
else
	specs=()
	for p in $pkgs; do specs+=(--pkg "$p/$suite"); done
	roots=$("$VM/fetch.sh" --arch "$arch" "${specs[@]}")
	tmp=$(mktemp -d "$CACHE/.root.XXXXXX")
	while read -r line; do
		PKGROOT=
		eval "$line"
		cp -a "$PKGROOT/." "$tmp/"
	done <<<"$roots"
	rm -rf "$CACHE/root"
	mv "$tmp" "$CACHE/root"
	echo "$key" >"$CACHE/.complete"
fi
root=$CACHE/root
[ -x "$root/usr/sbin/criu" ] || die "$root/usr/sbin/criu missing after unpacking"

wrapper='' crunwrapper=''
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	case $arch in
	amd64) ld=$root/usr/lib64/ld-linux-x86-64.so.2 tri=x86_64-linux-gnu ;;
	arm64) ld=$root/usr/lib/ld-linux-aarch64.so.1 tri=aarch64-linux-gnu ;;
	esac
	[ -e "$ld" ] || ld=$root/lib/$tri/$(basename "$ld")
	version() { sed -n 's/^Version: //p' "$(find "${HWCAP_CACHE:-/var/cache/hwcap}"/vm/pkg -maxdepth 1 -name "$1_*_$arch" | sort | tail -n1)/control" 2>/dev/null || echo '?'; }
	script() { # NAME BINARY: a wrapper script CACHE/NAME
		cat >"$CACHE/$1.tmp" <<W
#!/bin/sh
# $1 from $suite ($(version "$1")) with its own loader and libraries; made by test/criu/fetch.sh
exec "$ld" --library-path "$root/usr/lib/$tri:$root/lib/$tri" "$root$2" "\$@"
W
		chmod 755 "$CACHE/$1.tmp"
		mv "$CACHE/$1.tmp" "$CACHE/$1"
	}
	script criu /usr/sbin/criu
	wrapper=$CACHE/criu
	if [ -x "$root/usr/bin/crun" ]; then
		script crun /usr/bin/crun
		crunwrapper=$CACHE/crun
	fi
fi
printf 'CRIU_ROOT=%q\nCRIU=%q\nCRUN=%q\nCRIU_PKGS=%q\n' "$root" "$wrapper" "$crunwrapper" "$(echo "$pkgs" | tr '\n' ' ')"
