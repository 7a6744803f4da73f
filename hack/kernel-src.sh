#!/bin/sh
# kernel-src.sh: make the kernel files that internal/hwcap's generator reads
# available outside the repository, and print their directory.
#
# It installs Debian's linux-source-7.3 from trixie-backports if
# /usr/src/linux-source-7.3.tar.xz is missing (asked for as
# linux-source-7.3/trixie-backports, not with -t trixie-backports, which
# would also upgrade linux-libc-dev and its cross variants), then extracts
# only the headers and C tables the generator parses into
#   ${HWCAP_CACHE:-/var/cache/hwcap}/linux-source-7.3-hwcap/
# It is idempotent: an extraction is reused when its .complete marker
# (written last) lists the same files. apt's output goes to stderr; stdout
# is the directory alone, so
#   HWCAP_KERNEL_SRC=$(hack/kernel-src.sh) go generate ./internal/hwcap
set -eu

VERSION=${HWCAP_KERNEL_VERSION:-7.3}
PKG=linux-source-$VERSION
TARBALL=${HWCAP_KERNEL_TARBALL:-/usr/src/$PKG.tar.xz}
CACHE=${HWCAP_CACHE:-/var/cache/hwcap}
DEST=$CACHE/$PKG-hwcap

# Keep in sync with internal/hwcap/internal/gen (sources.go).
FILES="
Makefile
arch/arm64/include/uapi/asm/hwcap.h
arch/arm64/include/asm/hwcap.h
arch/arm64/tools/gen-kernel-hwcaps.sh
arch/arm64/kernel/cpuinfo.c
arch/x86/include/asm/cpufeatures.h
arch/x86/include/uapi/asm/hwcap2.h
arch/riscv/include/uapi/asm/hwcap.h
arch/powerpc/include/uapi/asm/cputable.h
arch/s390/include/asm/elf.h
arch/s390/kernel/processor.c
arch/loongarch/include/uapi/asm/hwcap.h
arch/loongarch/kernel/proc.c
"

# shellcheck disable=SC2086 # FILES is a word list on purpose
want=$(printf '%s\n' $FILES)
if [ -f "$DEST/.complete" ] && [ "$(cat "$DEST/.complete")" = "$want" ]; then
	echo "$DEST"
	exit 0
fi

if [ ! -f "$TARBALL" ]; then
	echo "kernel-src.sh: $TARBALL missing, installing $PKG from trixie-backports" >&2
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$PKG/trixie-backports" >&2; then
		apt-get -o DPkg::Lock::Timeout=600 update >&2 || true
		if ! apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$PKG/trixie-backports" >&2; then
			echo "kernel-src.sh: cannot install $PKG/trixie-backports (is trixie-backports in the apt sources? hack/install-deps.sh adds it)" >&2
			exit 1
		fi
	fi
fi
if [ ! -f "$TARBALL" ]; then
	echo "kernel-src.sh: $TARBALL still missing after installing $PKG (is trixie-backports in the apt sources? hack/install-deps.sh adds it)" >&2
	exit 1
fi

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.$PKG-hwcap.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
members=
for f in $FILES; do
	members="$members $PKG/$f"
done
# shellcheck disable=SC2086 # members is a list of paths without spaces
tar -xJf "$TARBALL" -C "$tmp" --strip-components=1 $members
for f in $FILES; do
	if [ ! -f "$tmp/$f" ]; then
		echo "kernel-src.sh: $f not found in $TARBALL" >&2
		exit 1
	fi
done
printf '%s\n' "$want" >"$tmp/.complete"
rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT
echo "$DEST"
