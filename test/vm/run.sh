#!/usr/bin/env bash
# run.sh: boot a kernel under QEMU TCG with a busybox initramfs, run one
# command script as root in the guest, and bring back its output and files.
#
# Usage: run.sh --arch amd64|arm64 --script FILE --out DIR [options]
#   --script FILE     sh script run in the guest (by busybox sh); it may write
#                     files to $OUT (/out), which come back to DIR/files/
#   --out DIR         host directory for the results (created; emptied of
#                     earlier results)
#   --cpu MODEL       QEMU -cpu (arm64 default: max; amd64 default: QEMU's
#                     default model, qemu64)
#   --kernel PATH     kernel image (default: stock Debian kernel, fetch.sh)
#   --kernel-pkg SPEC Debian kernel package for the default (see fetch.sh)
#   --stock NAME      one of Debian's stock kernels pinned in
#                     test/vm/stock-kernels (6.1, 6.12, 7.3): that exact
#                     package and version for --arch
#   --module NAME     load kernel module NAME (and what it depends on) from
#                     the stock kernel's package before the script runs
#                     (repeatable; e.g. 9p, 9pnet_virtio, nf_tables); needs
#                     --stock or --kernel-pkg
#   --add SRC:DST     extra file or directory in the initramfs (repeatable)
#   --deb SPEC        a Debian package for --arch, fetched with apt and
#                     unpacked into the initramfs root (repeatable; no
#                     dependencies are followed: name each one, e.g.
#                     --deb runc --deb libseccomp2 --deb libc6)
#   --append ARGS     extra kernel command line
#   --share DIR:TAG   share host directory DIR with the guest (QEMU virtio-9p
#                     on the arm64 virt machine's virtio-mmio bus; the test
#                     kernel has 9p, x86_64's has no virtio): the script
#                     mounts it, mount -t 9p -o trans=virtio,version=9p2000.L
#                     TAG /mnt (repeatable)
#   --tmpfs-root      copy the initramfs into a tmpfs and switch_root into it
#                     before the script runs (init.sh), so the root is a
#                     mount: runc can pivot_root and CRIU can checkpoint its
#                     containers
#   --mem SIZE        guest memory (default 1G)
#   --smp N           guest CPUs (default 1)
#   --timeout SECS    kill QEMU after SECS seconds (default 300)
#   --qemu-arg ARG    extra QEMU argument (repeatable)
# Results in DIR: console.log (whole serial console), output.txt (what the
# script printed, between the markers), rc (its exit code), files/ (its
# $OUT), qemu.cmd (the QEMU command line), seconds (boot+run wall time),
# kernel.txt (kernel image and package).
# Exit status: 0 when the script exited 0; 1 for bad usage or a failed
# script (its code is in DIR/rc); 2 when the markers are missing (the guest
# did not boot or crashed); 124 on timeout.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

arch='' cpu='' tmpfsroot='' kernel='' kernel_pkg='' script='' out='' append='' mem=1G smp=1 timeout=300
adds=() debs=() qemu_extra=() shares=() modules=()
stock=''
need() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) need "$@"; arch=$(vm_arch "$2") ;;
	--cpu) need "$@"; cpu=$2 ;;
	--kernel) need "$@"; kernel=$2 ;;
	--kernel-pkg) need "$@"; kernel_pkg=$2 ;;
	--stock) need "$@"; stock=$2 ;;
	--module) need "$@"; modules+=("$2") ;;
	--script) need "$@"; script=$2 ;;
	--out) need "$@"; out=$2 ;;
	--add) need "$@"; adds+=(--add "$2") ;;
	--deb) need "$@"; debs+=(--pkg "$2") ;;
	--append) need "$@"; append=$2 ;;
	--tmpfs-root) tmpfsroot=1; shift; continue ;;
	--share) need "$@"; shares+=("$2") ;;
	--mem) need "$@"; mem=$2 ;;
	--smp) need "$@"; smp=$2 ;;
	--timeout) need "$@"; timeout=$2 ;;
	--qemu-arg) need "$@"; qemu_extra+=("$2") ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
	shift 2
done
[ -n "$arch" ] || die "--arch is required (amd64 or arm64)"
[ -n "$script" ] || die "--script is required"
[ -f "$script" ] || die "--script \"$script\": no such file"
[ -n "$out" ] || die "--out is required"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout \"$timeout\": want a whole number of seconds, e.g. 300"
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp \"$smp\": want a positive number, e.g. 1"
[[ $mem =~ ^[1-9][0-9]*[MG]$ ]] || die "--mem \"$mem\": want a size like 512M or 1G"
[[ $cpu =~ ^[A-Za-z0-9_.,=+-]*$ ]] || die "--cpu \"$cpu\": not a CPU model name (see qemu-system-* -cpu help)"
[ -z "$kernel" ] || [ -f "$kernel" ] || die "--kernel \"$kernel\": no such file"
share_args=()
for sh in "${shares[@]}"; do
	[ "$arch" = arm64 ] || die "--share \"$sh\": only for --arch arm64 (the x86_64 test kernel has no virtio)"
	dir=${sh%:*} tag=${sh##*:}
	[[ $sh == *:* && -d $dir && $tag =~ ^[a-z][a-z0-9_]{0,30}$ ]] ||
		die "--share \"$sh\": want DIR:TAG with an existing DIR and a short lower-case TAG, e.g. /tmp/img:images"
	dir=$(cd "$dir" && pwd)
	[[ $dir != *,* ]] || die "--share \"$sh\": QEMU cannot take a directory with a comma"
	share_args+=(-fsdev "local,id=fs${#share_args[@]},path=$dir,security_model=none"
		-device "virtio-9p-device,fsdev=fs${#share_args[@]},mount_tag=$tag")
done

case $arch in
amd64)
	qemu="qemu-system-x86_64"
	machine=(-M pc)
	console=ttyS0
	;;
arm64)
	qemu="qemu-system-aarch64"
	# GICv3, as on arm64 servers: CPU models that advertise the GICv3
	# system-register interface (a64fx) crash in early boot on a GICv2.
	machine=(-M "virt,gic-version=3")
	console=ttyAMA0
	cpu=${cpu:-max}
	;;
esac
command -v "$qemu" >/dev/null || die "$qemu not found: apt-get install qemu-system-x86 qemu-system-arm"

modules_pkg=''
if [ -n "$stock" ]; then
	[ -z "$kernel_pkg$kernel" ] || die "--stock \"$stock\": give one of --stock, --kernel-pkg and --kernel"
	stockvars=$(vm_stock "$stock" "$arch")
	eval "$stockvars"
	kernel_pkg=$STOCK_PKG
	[ "$STOCK_MODULES" = - ] || modules_pkg=$STOCK_MODULES
fi
[ ${#modules[@]} = 0 ] || [ -z "$kernel" ] || die "--module needs the kernel's package (--stock or --kernel-pkg), not --kernel"
fetch_args=(--arch "$arch")
[ -z "$kernel_pkg" ] || fetch_args+=(--kernel-pkg "$kernel_pkg")
KERNEL='' KERNEL_PKG='' KERNEL_RELEASE='' BUSYBOX='' BUSYBOX_PKG='' PKGROOT=''
vars=$(VM_QUIET=1 "$VM_DIR/fetch.sh" "${fetch_args[@]}") || exit 1
eval "$vars"
modstage=''
if [ ${#modules[@]} -gt 0 ]; then
	# The modules are in the image package (6.x) or in linux-modules-REL (7.x).
	if [ -n "$modules_pkg" ]; then
		mvars=$(VM_QUIET=1 "$VM_DIR/fetch.sh" --arch "$arch" --pkg "$modules_pkg") || exit 1
		PKGROOT=''
		eval "$mvars"
		mroot=$PKGROOT
	else
		mroot=$VM_CACHE/pkg/$KERNEL_PKG/root
	fi
	mdir=''
	for d in "$mroot/lib/modules/$KERNEL_RELEASE" "$mroot/usr/lib/modules/$KERNEL_RELEASE"; do
		[ ! -d "$d/kernel" ] || mdir=$d
	done
	[ -n "$mdir" ] || die "--module: no modules of $KERNEL_RELEASE in $mroot"
	modstage=$(mktemp -d)
	trap 'rm -rf "$modstage"' EXIT
	"$VM_DIR/modules.sh" --dir "$mdir" --out "$modstage/modules" "${modules[@]}"
	adds+=(--add "$modstage/modules:/vm/modules")
fi
if [ ${#debs[@]} -gt 0 ]; then
	roots=$(VM_QUIET=1 "$VM_DIR/fetch.sh" --arch "$arch" "${debs[@]}") || exit 1
	while read -r line; do
		eval "$line"
		adds+=(--add "$PKGROOT:/")
	done <<<"$roots"
fi
if [ -z "$kernel" ]; then
	kernel=$KERNEL
	kernel_desc="$KERNEL_PKG ($KERNEL_RELEASE)"
else
	kernel_desc="$kernel (given with --kernel)"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/files" "$out/console.log" "$out/output.txt" "$out/rc" "$out/seconds" "$out/qemu.cmd" "$out/initrd.gz"
printf 'kernel: %s\nimage: %s\nbusybox: %s\n' "$kernel_desc" "$kernel" "$BUSYBOX_PKG" >"$out/kernel.txt"

"$VM_DIR/mkinitramfs.sh" --busybox "$BUSYBOX" --script "$script" "${adds[@]}" -o "$out/initrd.gz"

cmd=("$qemu" "${machine[@]}")
[ -z "$cpu" ] || cmd+=(-cpu "$cpu")
cmd+=(-accel tcg -m "$mem" -smp "$smp" -nodefaults -display none -monitor none
	-no-reboot -serial "file:$out/console.log"
	-kernel "$kernel" -initrd "$out/initrd.gz"
	-append "console=$console panic=-1 quiet loglevel=1${tmpfsroot:+ hwcap.tmpfsroot}${append:+ $append}")
cmd+=("${share_args[@]}" "${qemu_extra[@]}")
printf '%q ' "${cmd[@]}" | sed 's/ $/\n/' >"$out/qemu.cmd"

log "booting $arch${cpu:+ -cpu $cpu}: $kernel_desc"
start=$(date +%s.%N)
# Poll rather than wait: a kernel that panics before it can power off
# (e.g. in early CPU feature setup) would otherwise hang until the timeout.
"${cmd[@]}" </dev/null >"$out/qemu.stdout" 2>&1 &
qpid=$!
qrc=
deadline=$((SECONDS + timeout))
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		qrc=124
		break
	fi
	if grep -q 'end Kernel panic' "$out/console.log" 2>/dev/null; then
		qrc=panic
		break
	fi
	sleep 0.2
done
if [ -n "$qrc" ]; then
	kill "$qpid" 2>/dev/null || true
	sleep 1
	kill -9 "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
else
	set +e
	wait "$qpid"
	qrc=$?
	set -e
fi
end=$(date +%s.%N)
secs=$(echo "$start $end" | awk '{printf "%.1f", $2 - $1}')
echo "$secs" >"$out/seconds"

tr -d '\r' <"$out/console.log" >"$out/console.txt"
between() { # between BEGIN-REGEX END-REGEX: lines strictly between markers
	awk -v b="$1" -v e="$2" '$0 ~ e {exit} on {print} $0 ~ b {on=1}' "$out/console.txt"
}
if [ "$qrc" = panic ]; then
	echo "$PROG: the guest kernel panicked after ${secs}s; last console lines:" >&2
	tail -n 30 "$out/console.txt" >&2
	exit 2
fi
if [ "$qrc" = 124 ]; then
	echo "$PROG: timeout: the guest did not finish within ${timeout}s; last console lines:" >&2
	tail -n 20 "$out/console.txt" >&2
	exit 124
fi
if ! grep -q '^@@HWCAP-VM-DONE@@' "$out/console.txt"; then
	why="the guest did not boot or crashed"
	grep -q 'Kernel panic' "$out/console.txt" && why="the guest kernel panicked"
	echo "$PROG: no end marker on the console ($qemu exit $qrc, ${secs}s): $why; last console lines:" >&2
	tail -n 20 "$out/console.txt" "$out/qemu.stdout" >&2
	exit 2
fi
between '^@@HWCAP-VM-BEGIN@@$' '^@@HWCAP-VM-END rc=[0-9]+@@$' >"$out/output.txt"
rc=$(sed -n 's/^@@HWCAP-VM-END rc=\([0-9]*\)@@$/\1/p' "$out/console.txt" | head -n1)
echo "$rc" >"$out/rc"
mkdir -p "$out/files"
if grep -q '^@@HWCAP-VM-FILES-BEGIN@@$' "$out/console.txt"; then
	between '^@@HWCAP-VM-FILES-BEGIN@@$' '^@@HWCAP-VM-FILES-END@@$' | base64 -d | tar -C "$out/files" -xzf - ||
		die "the guest's files did not decode (console corrupted?); see $out/console.txt"
fi
log "$arch${cpu:+ -cpu $cpu}: boot+run ${secs}s, script exit $rc"
[ "$rc" = 0 ] || die "the guest script exited $rc; its output is in $out/output.txt"
