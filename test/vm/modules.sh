#!/usr/bin/env bash
# modules.sh: copy kernel modules and everything they depend on out of an
# unpacked Debian kernel package, in load order, for the guest's init.sh.
#
# Usage: modules.sh --dir MODDIR --out DIR MODULE...
#   --dir MODDIR  the kernel's module tree, .../lib/modules/RELEASE
#   --out DIR     written: DIR/NN-NAME.ko (decompressed), NN the load order
#                 (dependencies first); init.sh insmods DIR/*.ko in order
#   MODULE        module name (9p, nf_tables, ...; - and _ are the same)
# Debian's package carries no modules.dep (depmod runs at install) and the
# host needs no kmod: each module's dependencies are read from the
# "depends=" string of its .modinfo section. .ko.xz and .ko.zst are
# decompressed here, so busybox insmod loads them; a module's signature is
# appended to the uncompressed file and survives. A module the kernel
# builds in (modules.builtin) is skipped.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

dir='' out=''
mods=()
while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=${2:?--dir needs a directory}; shift 2 ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument \"$1\" (see --help)" ;;
	*) mods+=("$1"); shift ;;
	esac
done
[ -d "$dir/kernel" ] || die "--dir \"$dir\": no kernel/ module tree there (want .../lib/modules/RELEASE)"
[ -n "$out" ] || die "--out is required"
[ ${#mods[@]} -gt 0 ] || die "name at least one module"

# name -> file, names normalised to underscores.
declare -A file builtin
while IFS= read -r f; do
	n=${f##*/}
	n=${n%%.ko*}
	file[${n//-/_}]=$f
done < <(find "$dir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
if [ -f "$dir/modules.builtin" ]; then
	while IFS= read -r f; do
		n=${f##*/}
		n=${n%.ko}
		builtin[${n//-/_}]=1
	done <"$dir/modules.builtin"
fi

# plain FILE: the module's uncompressed bytes on stdout.
plain() {
	case $1 in
	*.xz) xz -dc "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

declare -A seen
order=()
# visit NAME [CHAIN]: dependencies first, each once.
visit() {
	local n=${1//-/_} chain=${2:-} dep deps
	[ -z "${seen[$n]:-}" ] || return 0
	[[ " $chain " != *" $n "* ]] || die "module $n: circular dependency ($chain $n)"
	if [ -n "${builtin[$n]:-}" ]; then
		seen[$n]=1
		return 0
	fi
	[ -n "${file[$n]:-}" ] || die "module \"$n\": not in $dir (neither a module nor built in; check the name)"
	deps=$(plain "${file[$n]}" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1)
	for dep in ${deps//,/ }; do
		visit "$dep" "$chain $n"
	done
	seen[$n]=1
	order+=("$n")
}
for m in "${mods[@]}"; do
	[[ $m =~ ^[A-Za-z0-9_-]+$ ]] || die "module \"$m\": not a module name"
	visit "$m"
done

rm -rf "$out"
mkdir -p "$out"
i=10
for n in "${order[@]}"; do
	plain "${file[$n]}" >"$out/$i-$n.ko"
	i=$((i + 1))
done
log "modules for the guest: ${order[*]:-none (all built in)}"
