#!/usr/bin/env bash
# fetch.sh: download a stock Debian kernel and busybox-static (or other
# Debian packages) for one architecture with apt (nothing else is
# downloaded) and unpack them into
#   ${HWCAP_CACHE:-/var/cache/hwcap}/vm/pkg/<package>_<version>_<arch>/root/
# (control fields in ../control). Idempotent: an unpacked package (marked by
# .complete, written last) is reused, keyed by the exact .deb file name apt
# resolves, so a new version in the archive is fetched next to the old one.
#
# Usage: fetch.sh --arch amd64|arm64 [--kernel-pkg SPEC] [--busybox-pkg SPEC]
#        fetch.sh --arch amd64|arm64 --pkg SPEC [--pkg SPEC]...
#   SPEC is an apt-get download spec without the architecture, e.g.
#   linux-image-cloud-amd64/trixie-backports (the amd64 default),
#   linux-image-arm64/trixie-backports (the arm64 default), a versioned
#   linux-image-6.12.117+deb13-arm64, or runc/trixie. Kernel metapackages
#   are followed to the package that ships vmlinuz; --pkg fetches exactly
#   the packages named (no dependencies).
# Output (stdout, shell-quoted, for eval): KERNEL=... KERNEL_PKG=...
# KERNEL_RELEASE=... BUSYBOX=... BUSYBOX_PKG=...; with --pkg, one
# PKGROOT=DIR line per package, in order.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

arch=
kernel_spec=${HWCAP_VM_KERNEL_PKG:-}
busybox_spec=${HWCAP_VM_BUSYBOX_PKG:-busybox-static}
pkgs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=$(vm_arch "${2:-}"); shift 2 ;;
	--kernel-pkg) kernel_spec=${2:?--kernel-pkg needs a package}; shift 2 ;;
	--busybox-pkg) busybox_spec=${2:?--busybox-pkg needs a package}; shift 2 ;;
	--pkg) pkgs+=("${2:?--pkg needs a package}"); shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
[ -n "$arch" ] || die "--arch is required (amd64 or arm64)"
if [ -z "$kernel_spec" ]; then
	case $arch in
	amd64) kernel_spec=linux-image-cloud-amd64/trixie-backports ;;
	arm64) kernel_spec=linux-image-arm64/trixie-backports ;;
	esac
fi

DEBS=$VM_CACHE/debs
PKGS=$VM_CACHE/pkg
vm_lock

# Resolving specs costs apt a few seconds per package; the answer depends
# only on apt's lists and configuration, so it is reused until they change.
RESOLVED=$VM_CACHE/resolved/$arch-$(printf '%s|' v2 "$kernel_spec" "$busybox_spec" "${pkgs[@]}" | md5sum | cut -c1-16)
resolved_ok() {
	local line KERNEL BUSYBOX PKGROOT
	[ -s "$RESOLVED" ] || return 1
	[ -z "$(find /var/lib/apt/lists /etc/apt -newer "$RESOLVED" -print -quit 2>/dev/null)" ] || return 1
	while read -r line; do
		KERNEL=/ BUSYBOX=/ PKGROOT=/
		eval "$line"
		[ -e "$KERNEL" ] && [ -e "$BUSYBOX" ] && [ -d "$PKGROOT" ] || return 1
	done <"$RESOLVED"
}
if resolved_ok; then
	cat "$RESOLVED"
	exit 0
fi
# save: print stdin and keep it as the resolution for these specs.
save() {
	mkdir -p "$(dirname "$RESOLVED")"
	cat >"$RESOLVED.tmp"
	mv "$RESOLVED.tmp" "$RESOLVED"
	cat "$RESOLVED"
}
mkdir -p "$DEBS" "$PKGS"
# apt drops privileges to _apt for downloads into a directory it can write.
if id _apt >/dev/null 2>&1; then chown _apt "$DEBS" 2>/dev/null || true; fi

apt_updated=
# apt_update [force]: refresh apt's lists once, and (unless forced) only if
# they are over an hour old: an unknown name is then a typo, not staleness.
apt_update() {
	[ -z "$apt_updated" ] || return 0
	if [ "${1:-}" != force ] && [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit)" ]; then
		return 0
	fi
	log "apt-get update"
	apt-get -q -o DPkg::Lock::Timeout=600 update >&2
	apt_updated=1
}

# A foreign architecture must be enabled before apt can see its packages.
if [ "$arch" != "$(dpkg --print-architecture)" ] &&
	! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	log "dpkg --add-architecture $arch"
	dpkg --add-architecture "$arch"
	apt_update force
fi

# with_arch SPEC: insert :$arch into "name[/suite|=version]".
with_arch() {
	local s=$1 name rest
	name=${s%%[/=]*}
	rest=${s#"$name"}
	echo "$name:$arch$rest"
}

# deb_name SPEC: the .deb file name apt would download for SPEC.
deb_name() {
	local spec=$1 tmp out
	tmp=$(mktemp -d)
	if ! out=$(cd "$tmp" && apt-get -q download --print-uris "$spec" 2>&1); then
		apt_update
		out=$(cd "$tmp" && apt-get -q download --print-uris "$spec" 2>&1) || {
			rmdir "$tmp"
			die "package \"$spec\": apt cannot find it ($(echo "$out" | tail -n1)); check the name and suite with apt-cache policy"
		}
	fi
	rmdir "$tmp"
	echo "$out" | awk '/^'"'"'/ {print $2; exit}'
}

# resolve SPEC...: what deb_name says for each SPEC (with :arch), from one
# apt call (apt takes seconds to load its lists, per call), into DEB_OF.
declare -A DEB_OF=()
resolve() {
	local tmp out spec name deb
	tmp=$(mktemp -d)
	if ! out=$(cd "$tmp" && apt-get -q download --print-uris "$@" 2>&1); then
		apt_update
		out=$(cd "$tmp" && apt-get -q download --print-uris "$@" 2>&1) || {
			rmdir "$tmp"
			die "packages $*: apt cannot find one ($(echo "$out" | grep -m1 '^E:' || echo "$out" | tail -n1)); check the names and suites with apt-cache policy"
		}
	fi
	rmdir "$tmp"
	for spec in "$@"; do
		name=${spec%%[:/=]*}
		deb=$(echo "$out" | awk -v n="${name}_" '/^'"'"'/ && index($2, n) == 1 {print $2; exit}')
		[ -n "$deb" ] || die "package \"$spec\": apt printed no download URI"
		DEB_OF[$spec]=$deb
	done
}

# fetch SPEC: download (once) and unpack (once) SPEC; print the unpacked dir.
fetch() {
	local spec deb dir tmp
	spec=$(with_arch "$1")
	deb=${DEB_OF[$spec]:-}
	[ -n "$deb" ] || deb=$(deb_name "$spec")
	[ -n "$deb" ] || die "package \"$spec\": apt printed no download URI"
	dir=$PKGS/${deb%.deb}
	if [ -f "$dir/.complete" ] && [ -f "$dir/control" ]; then
		echo "$dir"
		return
	fi
	if [ ! -s "$DEBS/$deb" ]; then
		log "apt-get download $spec"
		(cd "$DEBS" && apt-get -q download "$spec" >&2) || die "package \"$spec\": download failed"
	fi
	[ -s "$DEBS/$deb" ] || die "package \"$spec\": apt did not write $DEBS/$deb"
	tmp=$(mktemp -d "$PKGS/.tmp.XXXXXX")
	dpkg-deb -x "$DEBS/$deb" "$tmp/root"
	dpkg-deb -f "$DEBS/$deb" Package Version Architecture Depends >"$tmp/control"
	touch "$tmp/.complete"
	rm -rf "$dir"
	mv "$tmp" "$dir"
	echo "$dir"
}

# kernel SPEC [DEPTH]: follow metapackages until a package ships vmlinuz.
kernel() {
	local spec=$1 depth=${2:-0} dir img dep
	[ "$depth" -lt 4 ] || die "kernel package \"$kernel_spec\": no vmlinuz found within 4 levels of dependencies"
	dir=$(fetch "$spec")
	img=$(find "$dir/root/boot" "$dir/root/usr/lib/modules" -maxdepth 2 -name 'vmlinuz*' -type f 2>/dev/null | head -n1 || true)
	if [ -n "$img" ]; then
		echo "$dir $img"
		return
	fi
	# The image lives in linux-binary-REL (7.x) or linux-image-REL (6.x).
	for pat in 'linux-binary-[0-9][^ ,]*' 'linux-image-[0-9][^ ,]*'; do
		dep=$(sed -n 's/^Depends: //p' "$dir/control" | tr ',' '\n' |
			sed -n "s/^ *\($pat\) *(= *\([^)]*\)).*/\1=\2/p" | head -n1)
		if [ -n "$dep" ]; then
			kernel "${dep%%:*}" $((depth + 1))
			return
		fi
	done
	die "kernel package \"$spec\": ships no vmlinuz and depends on no linux-binary-*/linux-image-* package"
}

if [ ${#pkgs[@]} -gt 0 ]; then
	# Resolve all, then download what is missing, each in one apt call.
	specs=()
	for p in "${pkgs[@]}"; do specs+=("$(with_arch "$p")"); done
	resolve "${specs[@]}"
	need=()
	for s in "${specs[@]}"; do
		deb=${DEB_OF[$s]}
		[ -f "$PKGS/${deb%.deb}/.complete" ] || [ -s "$DEBS/$deb" ] || need+=("$s")
	done
	if [ ${#need[@]} -gt 0 ]; then
		log "apt-get download ${need[*]}"
		(cd "$DEBS" && apt-get -q download "${need[@]}" >&2) || die "packages ${need[*]}: download failed"
	fi
	lines=
	for p in "${pkgs[@]}"; do
		root=$(fetch "$p")/root
		lines+=$(printf 'PKGROOT=%q' "$root")$'\n'
	done
	printf '%s' "$lines" | save
	exit 0
fi

read -r kdir kimg < <(kernel "$kernel_spec")
bdir=$(fetch "$busybox_spec")
bb=$bdir/root/bin/busybox
[ -x "$bb" ] || die "package \"$busybox_spec\": no bin/busybox in $bdir"
krel=$(basename "$(dirname "$kimg")")
case $krel in boot) krel=$(basename "$kimg"); krel=${krel#vmlinuz-} ;; esac

printf 'KERNEL=%q\nKERNEL_PKG=%q\nKERNEL_RELEASE=%q\nBUSYBOX=%q\nBUSYBOX_PKG=%q\n' \
	"$kimg" "$(basename "$kdir")" "$krel" "$bb" "$(basename "$bdir")" | save
