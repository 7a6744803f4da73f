#!/usr/bin/env bash
# mkinitramfs.sh: build a gzip'd cpio (newc) initramfs from a static
# busybox, test/vm/init.sh as /init, a command script as /vm/script and any
# extra files or directories.
#
# Usage: mkinitramfs.sh --busybox PATH --script FILE [--add SRC:DST]... -o OUT
#   --add SRC:DST  copy file or directory SRC to DST (absolute) in the image;
#                  a directory's contents are merged into DST (so SRC:/
#                  adds an unpacked Debian package). Repeatable.
# The image has a merged /usr (lib -> usr/lib, lib64 -> usr/lib64).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

busybox='' script='' out=''
adds=()
while [ $# -gt 0 ]; do
	case "$1" in
	--busybox) busybox=${2:-}; shift 2 ;;
	--script) script=${2:-}; shift 2 ;;
	--add) adds+=("${2:-}"); shift 2 ;;
	-o | --out) out=${2:-}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
[ -n "$busybox" ] || die "--busybox is required"
[ -f "$busybox" ] || die "--busybox \"$busybox\": no such file"
[ -n "$script" ] || die "--script is required"
[ -f "$script" ] || die "--script \"$script\": no such file"
[ -n "$out" ] || die "-o is required"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,out,vm,root,usr/lib,usr/lib64}
# Merged /usr, as on Debian: packages from any suite find their loader.
ln -s usr/lib "$stage/lib"
ln -s usr/lib64 "$stage/lib64"
install -m 0755 "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
install -m 0755 "$VM_DIR/init.sh" "$stage/init"
install -m 0755 "$script" "$stage/vm/script"
# The kernel opens /dev/console before /init; init.sh copes without it.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

for a in "${adds[@]}"; do
	case $a in
	*:/*) src=${a%%:/*} dst=/${a#*:/} ;;
	*) die "--add \"$a\": want SRC:DST with an absolute DST (e.g. ./payload:/bin/payload)" ;;
	esac
	[ -e "$src" ] || die "--add \"$a\": \"$src\" does not exist"
	case $dst in *..*) die "--add \"$a\": DST must not contain \"..\"" ;; esac
	mkdir -p "$stage$(dirname "$dst")"
	if [ -d "$src" ]; then
		mkdir -p "$stage$dst"
		# tar, not cp: a package's lib/ must merge into the lib -> usr/lib link.
		tar -C "$src" -cf - . | tar -C "$stage$dst" -xf - --keep-directory-symlink
	else
		cp -a "$src" "$stage$dst"
	fi
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
