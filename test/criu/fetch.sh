#!/usr/bin/env bash
# fetch.sh: CRIU (and crun with CRIU support) from a newer Debian suite,
# runnable next to this system's libc without installing it.
#
# The suite and the CRIU version it must have are in criu.env, next to this
# script (sid's 4.2.1 today: Debian 12's criu 3.17.1 fails at dump on
# kernels >= 6.1x, "vdso: Failed to fill self vdso symtable", and trixie's
# 4.1.1 hangs dumping any process on 6.18.44-fc-v1294). A newer criu in
# the suite is taken with a notice on stderr (the archive keeps only a
# suite's current version); an older one fails. Installing it with apt
# would upgrade the host's libc, so the package and the closure of its
# dependencies in SUITE are downloaded with apt-get download (through
# test/vm/fetch.sh, cached) and merged into one tree:
#   ${HWCAP_CACHE:-/var/cache/hwcap}/criu/<arch>-<suite>/root/
# The tree also holds SUITE's crun and libcriu2: Debian 12's crun 1.8.1 is
# built without CRIU, newer ones checkpoint and restore through libcriu
# (which runs `criu swrk` from PATH).
# For the host's architecture wrapper scripts
#   ${HWCAP_CACHE:-/var/cache/hwcap}/criu/<arch>-<suite>/criu
#   ${HWCAP_CACHE:-/var/cache/hwcap}/criu/<arch>-<suite>/crun
# run root/usr/sbin/criu and root/usr/bin/crun with that tree's dynamic
# loader and libraries (runc checkpoint --criu PATH accepts the criu one:
# it keeps fd 3 for swrk).
# For arm64 the tree is meant for a guest's root file system (test/vm).
# The suite must be in apt's sources (hack/install-deps.sh adds it, pinned
# low); a foreign architecture is enabled here as test/vm/fetch.sh does.
#
# Usage: fetch.sh [--arch amd64|arm64] [--suite SUITE]
# Output (stdout, shell-quoted, for eval): CRIU_ROOT=... CRIU=... CRUN=...
# CRIU_PKGS=... CRIU_SUITE=... CRIU_VERSION=... (the Debian version of the
# criu package in the tree) CRUN_VERSION=...
set -euo pipefail
PROG=$(basename "$0")
die() { echo "$PROG: $*" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
VM=$HERE/../vm
# shellcheck source=/dev/null # criu.env: CRIU_SUITE, CRIU_VERSION
. "$HERE/criu.env"
want=$CRIU_VERSION

arch=$(dpkg --print-architecture) suite=$CRIU_SUITE
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

# A foreign architecture must be enabled before apt can see its packages.
if [ "$arch" != "$(dpkg --print-architecture)" ] &&
	! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	echo "$PROG: dpkg --add-architecture $arch" >&2
	dpkg --add-architecture "$arch"
	apt-get -q -o DPkg::Lock::Timeout=600 update >&2
fi

# criu's version in SUITE and the dependency closure of criu, crun and
# libcriu2 there (Default-Release makes SUITE's versions the candidates),
# without recommends: the binaries need only their shared libraries.
# apt takes seconds to answer, and the answer depends only on its lists and
# configuration: it is kept in .resolved until they change.
resolved=$CACHE/.resolved
if [ ! -s "$resolved" ] || [ -n "$(find /var/lib/apt/lists /etc/apt -newer "$resolved" -print -quit 2>/dev/null)" ]; then
	v=$(apt-cache madison "criu:$arch" 2>/dev/null |
		awk -F' *[|] *' -v s="$suite/main" -v a="$arch" 'index($3, s " " a " Packages") {print $2; exit}')
	[ -n "$v" ] || die "no criu for $arch in $suite in apt's lists: is $suite in apt's sources (make deps adds it, pinned low), and apt-get update run?"
	pkgs=$(apt-cache -o APT::Default-Release="$suite" -o APT::Architecture="$arch" \
		depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "criu:$arch" "crun:$arch" "libcriu2:$arch" 2>/dev/null |
		sed -n 's/^\([a-z0-9][a-z0-9.+-]*\)\(:'"$arch"'\)\{0,1\}$/\1/p' | sort -u)
	echo "$pkgs" | grep -qx criu || die "apt-cache found no criu for $arch in $suite (apt-get update? is $suite in apt's sources?)"
	printf 'v=%q\npkgs=%q\n' "$v" "$pkgs" >"$resolved.tmp"
	mv "$resolved.tmp" "$resolved"
fi
v='' pkgs=''
# shellcheck source=/dev/null # written just above
. "$resolved"
# criu.env's version is the least accepted (for criu.env's suite only:
# another --suite is an experiment).
if [ "$suite" = "$CRIU_SUITE" ]; then
	up=${v#*:}
	up=${up%-*}
	if dpkg --compare-versions "$up" lt "$want"; then
		die "criu $v in $suite is older than CRIU_VERSION=$want in test/criu/criu.env: set CRIU_SUITE there to a suite with criu >= $want"
	elif [ "$up" != "$want" ]; then
		echo "$PROG: note: criu $v in $suite is newer than the $want test/criu/criu.env names (the archive keeps only the current one); using it: the tests' preflight checks it dumps and restores here; once make test passes, set CRIU_VERSION=$up there" >&2
	fi
fi

# The tree follows criu's version in the archive (a warm cache and a clean
# machine run the same criu); versions lists each package's version.
key=$(echo "$arch $suite $v $pkgs" | md5sum | cut -c1-16)
if [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$key" ] && [ -s "$CACHE/versions" ]; then
	:
else
	specs=()
	for p in $pkgs; do specs+=(--pkg "$p/$suite"); done
	roots=$("$VM/fetch.sh" --arch "$arch" "${specs[@]}")
	tmp=$(mktemp -d "$CACHE/.root.XXXXXX")
	: >"$tmp.versions"
	while read -r line; do
		PKGROOT=
		eval "$line"
		cp -a "$PKGROOT/." "$tmp/"
		sed -n 's/^Package: //p; s/^Version: //p' "$PKGROOT/../control" | paste -sd' ' >>"$tmp.versions"
	done <<<"$roots"
	rm -rf "$CACHE/root"
	mv "$tmp" "$CACHE/root"
	mv "$tmp.versions" "$CACHE/versions"
	echo "$key" >"$CACHE/.complete"
fi
root=$CACHE/root
[ -x "$root/usr/sbin/criu" ] || die "$root/usr/sbin/criu missing after unpacking"
# version PACKAGE: its version in the tree.
version() { awk -v p="$1" '$1 == p {print $2; exit}' "$CACHE/versions"; }
[ "$(version criu)" = "$v" ] || die "$CACHE/versions: criu $(version criu), not $suite's $v (remove $CACHE and run again)"

wrapper='' crunwrapper=''
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	case $arch in
	amd64) ld=$root/usr/lib64/ld-linux-x86-64.so.2 tri=x86_64-linux-gnu ;;
	arm64) ld=$root/usr/lib/ld-linux-aarch64.so.1 tri=aarch64-linux-gnu ;;
	esac
	[ -e "$ld" ] || ld=$root/lib/$tri/$(basename "$ld")
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
printf 'CRIU_ROOT=%q\nCRIU=%q\nCRUN=%q\nCRIU_PKGS=%q\nCRIU_SUITE=%q\nCRIU_VERSION=%q\nCRUN_VERSION=%q\n' \
	"$root" "$wrapper" "$crunwrapper" "$(echo "$pkgs" | tr '\n' ' ')" "$suite" "$v" "$(version crun)"
