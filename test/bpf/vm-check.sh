#!/usr/bin/env bash
# vm-check.sh: the eBPF backend on a stock Debian kernel under QEMU TCG.
#
# Boots an unmodified Debian kernel (test/vm/run.sh; packages fetched with
# apt by test/vm/fetch.sh) from a busybox initramfs copied into a tmpfs
# root, with Debian's runc and this checkout's binaries, and runs
# test/bpf/guest.sh there, which prints one line per check:
#
#   RESULT name=NAME pass|fail DETAIL
#
# Checks in the default (working) mode, after `hwcapctl bpf install`:
#   install, install.again     installed; a second install changes nothing
#   probe                      hwcapctl probe: path bpf inherited, backend bpf
#   shim.{self,child,grandchild}
#                              hwcap-shim --deny LIST -- hwcapreport
#                              --children 2 (through sh -c): the masked
#                              words on each process's initial stack,
#                              /proc/self/auxv unchanged
#   features                   hwcapctl features under hwcap-shim --deny: none
#                              of the hidden features (it reads the stack)
#   plain                      an unmasked process keeps the kernel's words
#   hook.{init,child,grandchild,exec,exec-child}
#                              plain runc, only hwcap-hook in config.json
#                              (createRuntime, poststart, poststop), a
#                              container with hwcap.dev/deny: init,
#                              descendants and `runc exec` processes masked
#   inspect                    hwcapctl inspect --container: the init's stack
#                              words, masked, inheriting through the backend
#   hook.unannotated           the same container without the annotation:
#                              untouched
#   hook.gc                    after runc delete, no cgroup entry is left
#   wrapper.{init,grandchild,exec,exec-child}, wrapper.log
#                              hwcap-runtime (wrapping runc) alone, no hook:
#                              init, descendants and hwcap-runtime exec
#                              masked; its node-log line says backend bpf
#   upgrade                    a masked process waits while the programs are
#                              replaced twice (write, dry-run, write): what it
#                              execs afterwards is masked (maps kept)
#   status                     hwcapctl bpf status; no layout/mismatch misses
# With --lockdown the guest boots with lockdown=integrity instead:
#   install.lockdown           install exits 1 with one line naming lockdown
#   probe.lockdown             hwcapctl probe: bpf unavailable (lockdown)
#   hook.enforce               enforce: runc create refused by the hook
#   hook.warn                  warn: the container runs unmasked, the node
#                              log has the hook's "warned" line
#
# Usage: test/bpf/vm-check.sh [--arch amd64|arm64] [--cpu MODEL]
#          [--kernel NAME | --kernel-pkg SPEC] [--deny LIST] [--lockdown] [--out DIR]
#   --arch        guest architecture (default: amd64)
#   --cpu         QEMU CPU model (default: QEMU's for amd64, max for arm64)
#   --kernel      a stock kernel pinned in test/vm/stock-kernels: 6.1
#                 (bookworm, the default), 6.12 (trixie), 7.3
#                 (trixie-backports); Debian's package as shipped, no kernel
#                 is built
#   --kernel-pkg  another Debian kernel package (apt spec, e.g. NAME=VERSION)
#   --deny LIST   features to hide (default: amd64 pse,sse2; arm64 sve,sve2)
#   --lockdown    boot with lockdown=integrity and check the refusals
#   --out DIR     results (default bin/bpf-vm/ARCH-CPU[-lockdown])
# Output: OUT/results.txt (the guest's RESULT lines) and OUT/results.jsonl,
# printed too: one JSON object per expected check, the fields of test/e2e's
# results.jsonl, check names prefixed with "bpf."; a check the guest did
# not report is a failure. Exit status 0 when every check passed. Holds no
# lock itself: run it under `flock /tmp/hwcap-heavy.lock` on a shared machine.
set -euo pipefail
shopt -s inherit_errexit
PROG=vm-check.sh
die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
GO=${GO:-go}

arch=amd64 cpu='' kpkg='' kname='' deny='' lockdown='' out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
	--cpu) cpu=${2:?--cpu needs a model}; shift 2 ;;
	--kernel-pkg) kpkg=${2:?--kernel-pkg needs a package}; shift 2 ;;
	--kernel) kname=${2:?--kernel needs a name from test/vm/stock-kernels}; shift 2 ;;
	--deny) deny=${2:?--deny needs a feature list}; shift 2 ;;
	--lockdown) lockdown=1; shift ;;
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
case $arch in
amd64) cc=gcc; deny=${deny:-pse,sse2} ;;
arm64) cc=aarch64-linux-gnu-gcc; deny=${deny:-sve,sve2}; cpu=${cpu:-max} ;;
*) die "--arch \"$arch\": want amd64 or arm64" ;;
esac
[[ $deny =~ ^[a-z0-9_]+(,[a-z0-9_]+)*$ ]] || die "--deny \"$deny\": want feature names separated by commas, e.g. sve,sve2"
[ -z "$kpkg" ] || [ -z "$kname" ] || die "--kernel \"$kname\" and --kernel-pkg \"$kpkg\": give one"
[ -n "$kpkg" ] || kname=${kname:-6.1}
[[ $kname =~ ^[0-9a-z.]*$ ]] || die "--kernel \"$kname\": want a name from test/vm/stock-kernels, e.g. 6.1"
name=$arch${kname:+-$kname}${cpu:+-$cpu}${lockdown:+-lockdown}
out=${out:-$repo/bin/bpf-vm/$name}
command -v "$cc" >/dev/null || die "$cc not found (make deps)"

mkdir -p "$out/stage/bin" "$out/stage/libexec"
out=$(cd "$out" && pwd)
stage=$out/stage
log "building hwcap binaries and hwcapreport for $arch"
(cd "$repo" && GOARCH=$arch GO=$GO hack/gobuild.sh "$stage/bin" ./cmd/...) || die "go build for $arch failed"
"$cc" -static -O2 -Wall -Werror -o "$stage/libexec/hwcapreport" "$repo/test/e2e/payload/hwcapreport.c" ||
	die "compiling hwcapreport with $cc failed"
{
	printf 'DENY=%s\nLOCKDOWN=%s\n' "$deny" "$lockdown"
	cat "$here/guest.sh"
} >"$stage/guest.sh"

vmargs=(--arch "$arch" --tmpfs-root)
if [ -n "$kname" ]; then vmargs+=(--stock "$kname"); else vmargs+=(--kernel-pkg "$kpkg"); fi
[ -z "$cpu" ] || vmargs+=(--cpu "$cpu")
[ -z "$lockdown" ] || vmargs+=(--append lockdown=integrity)
set +e
"$repo/test/vm/run.sh" "${vmargs[@]}" --script "$stage/guest.sh" --out "$out/vm" --timeout 900 --mem 1G \
	--add "$stage/bin:/usr/local/bin" --add "$stage/libexec/hwcapreport:/usr/local/libexec/hwcapreport" \
	--deb runc --deb libseccomp2 --deb libc6
rc=$?
set -e
# The checks this guest must report: a missing one (the guest died, or
# the script stopped early) is a failure, and so is one not in the list.
if [ -n "$lockdown" ]; then
	want="install.lockdown probe.lockdown hook.enforce hook.warn"
else
	want="install install.again probe shim.self shim.child shim.grandchild features plain cannot-add cannot-add.raw
		inspect hook.init hook.child hook.grandchild hook.exec hook.exec-child hook.log hook.gc hook.unannotated
		wrapper.init wrapper.grandchild wrapper.exec wrapper.exec-child wrapper.log"
	[ "$arch" != arm64 ] || want="$want dispatch.unmasked dispatch.shim dispatch.hook dispatch.wrapper"
	want="$want upgrade status"
fi
if [ -f "$out/vm/output.txt" ]; then
	grep '^RESULT ' "$out/vm/output.txt" >"$out/results.txt" || true
else
	log "no output from the guest (run.sh exit $rc; see $out/vm/console.txt)"
	: >"$out/results.txt"
fi
# results.jsonl: one JSON object per check, the fields of test/e2e's
# results.jsonl; checks are named bpf.NAME, the cpu is QEMU's model (qemu64
# is QEMU's amd64 default), the kernel its release (+ lockdown=integrity).
krel=$(sed -n 's/^kernel: .*(\(.*\))$/\1/p' "$out/vm/kernel.txt" 2>/dev/null | head -n1)
"$here/results.sh" --arch "$arch" --cpu "${cpu:-qemu64}" --kernel "${krel:-unknown}${lockdown:+ lockdown=integrity}" \
	--prefix bpf --want "$want" <"$out/results.txt" >"$out/results.jsonl"
cat "$out/results.jsonl"
total=$(wc -l <"$out/results.jsonl")
failed=$(grep -c '"pass":false' "$out/results.jsonl" || true)
log "$name ($(head -n1 "$out/vm/kernel.txt" 2>/dev/null)): $((total - failed))/$total passed, ${failed} failed; guest output: $out/vm/output.txt, $(cat "$out/vm/seconds" 2>/dev/null)s"
[ "$rc" = 0 ] && [ "$total" -gt 0 ] && [ "$failed" = 0 ]
