#!/usr/bin/env bash
# build.sh ARCH — build (or fetch from the cache) a small test kernel that
# carries hwcap-inherit.patch, for ARCH x86_64 or arm64, and print the path
# of the image (bzImage / Image) on stdout. Progress goes to stderr.
#
# Cache: ${HWCAP_CACHE:-/var/cache/hwcap}/kernel/
#   src/<pkgver>-<patch-sha>/   extracted linux-source-7.3 tree with the patch
#   <arch>-<key>/               bzImage|Image, config, build.log, key.txt
#                               (only the newest key of each arch is kept)
# <key> is the sha256 of the source package version, the compiler version,
# the patch, the config fragments and this script. A hit takes well under a
# second; a miss builds in a temporary directory and renames it into place.
#
# Environment:
#   HWCAP_CACHE            cache root (default /var/cache/hwcap)
#   HWCAP_KERNEL_TARBALL   kernel source tarball
#                          (default /usr/src/linux-source-7.3.tar.xz, from the
#                          Debian package linux-source-7.3, trixie-backports)
#   HWCAP_KERNEL_JOBS      make -j (default 2)
#   HWCAP_KERNEL_KEEP=1    keep the object directory of a failed build
set -euo pipefail

SRCPKG=linux-source-7.3
SUITE=trixie-backports

die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
log() { printf 'build.sh: %s\n' "$*" >&2; }

[[ $# -eq 1 ]] || die "usage: build.sh ARCH (ARCH is x86_64 or arm64)"
arch=$1
case $arch in
x86_64) karch=x86_64 cross='' target=bzImage image=arch/x86/boot/bzImage ;;
arm64) karch=arm64 cross=aarch64-linux-gnu- target=Image image=arch/arm64/boot/Image ;;
*) die "unknown ARCH \"$arch\": use x86_64 or arm64" ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
patchfile=$here/hwcap-inherit.patch
fragments=("$here/config/common.fragment" "$here/config/$arch.fragment")
cache=${HWCAP_CACHE:-/var/cache/hwcap}/kernel
default_tarball=/usr/src/$SRCPKG.tar.xz
tarball=${HWCAP_KERNEL_TARBALL:-$default_tarball}
jobs=${HWCAP_KERNEL_JOBS:-2}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "bad HWCAP_KERNEL_JOBS \"$jobs\": use a positive integer"
for f in "$patchfile" "${fragments[@]}"; do
	[[ -r $f ]] || die "missing $f: run from a complete hwcap checkout"
done

# The source tarball comes from Debian's linux-source-7.3 (trixie-backports).
install_source() {
	[[ $(id -u) -eq 0 ]] || die "$tarball not found: install it with 'apt-get install -t $SUITE $SRCPKG' as root"
	if ! apt-cache policy 2>/dev/null | grep -q "$SUITE"; then
		log "adding apt source $SUITE (pinned to 100, used only on request)"
		cat >/etc/apt/sources.list.d/hwcap-$SUITE.sources <<-EOF
			Types: deb
			URIs: http://deb.debian.org/debian
			Suites: $SUITE trixie
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\nPackage: *\nPin: release n=trixie\nPin-Priority: 100\n' \
			"$SUITE" >/etc/apt/preferences.d/hwcap-$SUITE
		apt-get update -qq >&2 || die "apt-get update failed: check the network access to deb.debian.org"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t "$SUITE" "$SRCPKG" >&2 ||
		die "apt-get install -t $SUITE $SRCPKG failed"
}
if [[ ! -r $tarball ]]; then
	[[ $tarball == "$default_tarball" ]] ||
		die "HWCAP_KERNEL_TARBALL \"$tarball\" is not a readable file: point it at a kernel source tarball or unset it"
	install_source
	[[ -r $tarball ]] || die "$tarball not found after installing $SRCPKG: set HWCAP_KERNEL_TARBALL"
fi

# Source identity: the Debian package version for the packaged tarball,
# else the tarball's own sha256.
if [[ $tarball == "$default_tarball" ]] && ver=$(dpkg-query -W -f '${Version}' "$SRCPKG" 2>/dev/null) && [[ -n $ver ]]; then
	srcid="$SRCPKG $ver"
else
	srcid="tarball $(sha256sum <"$tarball" | cut -c1-64)"
fi

need=(make flex bison bc perl tar xz patch sha256sum flock "${cross}gcc" "${cross}ld")
for t in "${need[@]}"; do
	command -v "$t" >/dev/null || die "missing tool $t: apt-get install build-essential flex bison bc libelf-dev xz-utils patch gcc-aarch64-linux-gnu"
done
if [[ $arch == x86_64 && ! -e /usr/include/libelf.h && ! -e /usr/include/gelf.h ]]; then
	die "missing libelf headers (objtool): apt-get install libelf-dev"
fi

ccver=$("${cross}gcc" --version | head -n1)
key=$( {
	printf 'src=%s\ncc=%s\narch=%s\n' "$srcid" "$ccver" "$arch"
	sha256sum <"$patchfile"
	for f in "${fragments[@]}"; do sha256sum <"$f"; done
	sha256sum <"${BASH_SOURCE[0]}"
} | sha256sum | cut -c1-16)
out=$cache/$arch-$key
if [[ -f $out/$target ]]; then
	log "cache hit: $out"
	echo "$out/$target"
	exit 0
fi

if ! mkdir -p "$cache/src" 2>/dev/null || [[ ! -w $cache ]]; then
	die "cannot write the cache $cache: set HWCAP_CACHE to a writable directory"
fi
# One build per arch at a time; a second caller waits and then hits the cache.
exec 8>"$cache/.$arch.lock"
flock 8
if [[ -f $out/$target ]]; then
	log "cache hit after waiting: $out"
	echo "$out/$target"
	exit 0
fi
# Holding the arch lock: object directories left by killed or failed builds
# of this arch are garbage now.
rm -rf "$cache"/.build."$arch".*

start=$(date +%s)

# Patched source tree, shared by both arches (built out of tree with O=).
patchsum=$(sha256sum <"$patchfile" | cut -c1-12)
srcname=$(printf '%s' "$srcid" | tr -c 'A-Za-z0-9.+-' '_' | cut -c1-60)-$patchsum
src=$cache/src/$srcname
exec 9>"$cache/.src.lock"
flock -s 9
if [[ ! -f $src/.hwcap-ready ]]; then
	flock -u 9
	flock 9
fi
if [[ ! -f $src/.hwcap-ready ]]; then
	tmp=$(mktemp -d "$cache/src/.tmp.XXXXXX")
	log "extracting $tarball"
	tar -C "$tmp" -xJf "$tarball"
	top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)
	[[ -f $top/Makefile ]] || die "$tarball holds no kernel tree"
	log "applying $(basename "$patchfile")"
	patch -d "$top" -p1 --batch --forward --quiet <"$patchfile" >&2 ||
		die "$(basename "$patchfile") does not apply to $srcid: rebase the patch"
	touch "$top/.hwcap-ready"
	log "source tree ready in $(($(date +%s) - start))s"
	rm -rf "$src"
	mv "$top" "$src"
	rm -rf "$tmp"
	# Trees for other patch versions are not needed any more (we hold the
	# exclusive lock, so no build is using them).
	for old in "$cache"/src/* "$cache"/src/.tmp.*; do
		[[ ! -e $old || $old == "$src" ]] || rm -rf "$old"
	done
	# Downgrade: builds hold the lock shared while they read the tree.
	flock -u 9
	flock -s 9
fi

obj=$(mktemp -d "$cache/.build.$arch.XXXXXX")
cleanup() { [[ ${HWCAP_KERNEL_KEEP:-} == 1 ]] || rm -rf "$obj"; }
trap cleanup EXIT
buildlog=$obj/build.log
mk=(make -C "$src" O="$obj/o" ARCH="$karch" ${cross:+CROSS_COMPILE=$cross}
	KBUILD_BUILD_USER=hwcap KBUILD_BUILD_HOST=hwcap)

cat "${fragments[@]}" >"$obj/fragment"
log "configuring $arch (allnoconfig + $(basename "${fragments[0]}") + $(basename "${fragments[1]}"))"
{
	"${mk[@]}" KCONFIG_ALLCONFIG="$obj/fragment" allnoconfig &&
		"${mk[@]}" olddefconfig
} >>"$buildlog" 2>&1 || { tail -n 30 "$buildlog" >&2; die "configuring $arch failed (log: $buildlog)"; }

missing=()
while IFS= read -r line; do
	[[ $line =~ ^CONFIG_ ]] || continue
	grep -qxF -- "$line" "$obj/o/.config" || missing+=("$line")
done <"$obj/fragment"
if ((${#missing[@]})); then
	for m in "${missing[@]}"; do
		got=$(grep -E "^(# )?${m%%=*}[= ]" "$obj/o/.config" || true)
		log "config option not set: $m (got: ${got:-absent, dependency missing})"
	done
	HWCAP_KERNEL_KEEP=1
	die "${#missing[@]} fragment option(s) did not survive olddefconfig for $arch; see $obj/o/.config"
fi

log "building $target for $arch with -j$jobs (log: $buildlog)"
if ! nice -n 10 "${mk[@]}" -j"$jobs" "$target" >>"$buildlog" 2>&1; then
	grep -E 'error|Error' "$buildlog" | head -n 20 >&2 || true
	tail -n 20 "$buildlog" >&2
	HWCAP_KERNEL_KEEP=1
	die "building $arch failed (log: $buildlog)"
fi
secs=$(($(date +%s) - start))
log "built $arch in ${secs}s"

stage=$obj/result
mkdir "$stage"
cp "$obj/o/$image" "$stage/$target"
cp "$obj/o/.config" "$stage/config"
cp "$buildlog" "$stage/build.log"
printf 'source: %s\ncompiler: %s\nkernel: %s\nbuild_seconds: %s\nloadavg: %s\n' \
	"$srcid" "$ccver" "$(cat "$obj/o/include/config/kernel.release" 2>/dev/null || echo unknown)" \
	"$secs" "$(cut -d' ' -f1-3 /proc/loadavg)" >"$stage/key.txt"
[[ ! -e $out ]] || rm -rf "$out" # a leftover without an image
mv -T "$stage" "$out" || die "cannot move the build into $out"
# Results for other keys of this arch are stale now.
for old in "$cache/$arch"-*; do
	[[ $old == "$out" ]] || rm -rf "$old"
done
echo "$out/$target"
