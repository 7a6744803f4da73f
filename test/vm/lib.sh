# lib.sh: helpers shared by the test/vm scripts (sourced, not run).
# shellcheck shell=bash

# Let errors inside $(...) stop the script too, as set -e promises.
shopt -s inherit_errexit

VM_CACHE=${HWCAP_CACHE:-/var/cache/hwcap}/vm
export VM_DIR
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${PROG:-$(basename "$0")}

die() {
	echo "$PROG: $*" >&2
	exit 1
}

log() {
	[ -n "${VM_QUIET:-}" ] || echo "$PROG: $*" >&2
}

# vm_arch NAME: print the Debian architecture for NAME (amd64, x86_64,
# arm64, aarch64) or fail with a message that names the bad input.
vm_arch() {
	case "$1" in
	amd64 | x86_64 | x86-64) echo amd64 ;;
	arm64 | aarch64) echo arm64 ;;
	*) die "--arch \"$1\": unknown architecture (want amd64 or arm64)" ;;
	esac
}

# vm_lock: serialise cache updates between concurrent runs (held until exit).
vm_lock() {
	mkdir -p "$VM_CACHE"
	exec 9>"$VM_CACHE/.lock"
	flock 9
}

# vm_stock NAME ARCH: the pinned stock kernel NAME for ARCH from
# stock-kernels, as STOCK_PKG=PACKAGE=VERSION and STOCK_MODULES=SPEC|- lines
# for eval; fails naming the input when the file has no such line.
vm_stock() {
	local name=$1 arch=$2 n a pkg mods rest names
	while read -r n a pkg mods rest; do
		case $n in '' | '#'*) continue ;; esac
		if [ "$n" = "$name" ] && [ "$a" = "$arch" ]; then
			printf 'STOCK_PKG=%q\nSTOCK_MODULES=%q\n' "$pkg" "${mods:--}"
			return 0
		fi
	done <"$VM_DIR/stock-kernels"
	names=$(awk -v a="$arch" '$1 !~ /^#/ && $2 == a {printf "%s ", $1}' "$VM_DIR/stock-kernels")
	die "--stock \"$name\": no $arch kernel of that name in $VM_DIR/stock-kernels (have: ${names% })"
}
