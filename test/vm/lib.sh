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
