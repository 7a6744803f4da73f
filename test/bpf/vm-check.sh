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
#          [--kernel-pkg SPEC] [--deny LIST] [--lockdown] [--out DIR]
#   --arch        guest architecture (default: amd64)
#   --cpu         QEMU CPU model (default: QEMU's for amd64, max for arm64)
#   --kernel-pkg  Debian kernel package (default: linux-image-6.1.0-57-ARCH,
#                 bookworm's 6.1, as shipped: no kernel is built)
#   --deny LIST   features to hide (default: amd64 pse,sse2; arm64 sve,sve2)
#   --lockdown    boot with lockdown=integrity and check the refusals
#   --out DIR     results (default bin/bpf-vm/ARCH-CPU[-lockdown])
# Exit status 0 when every check passed. Holds no lock itself: run it under
# `flock /tmp/hwcap-heavy.lock` on a shared machine.
set -euo pipefail
shopt -s inherit_errexit
PROG=vm-check.sh
die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
GO=${GO:-go}

arch=amd64 cpu='' kpkg='' deny='' lockdown='' out=''
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=${2:?--arch needs amd64 or arm64}; shift 2 ;;
	--cpu) cpu=${2:?--cpu needs a model}; shift 2 ;;
	--kernel-pkg) kpkg=${2:?--kernel-pkg needs a package}; shift 2 ;;
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
kpkg=${kpkg:-linux-image-6.1.0-57-$arch}
name=$arch${cpu:+-$cpu}${lockdown:+-lockdown}
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

vmargs=(--arch "$arch" --kernel-pkg "$kpkg" --tmpfs-root)
[ -z "$cpu" ] || vmargs+=(--cpu "$cpu")
[ -z "$lockdown" ] || vmargs+=(--append lockdown=integrity)
set +e
"$repo/test/vm/run.sh" "${vmargs[@]}" --script "$stage/guest.sh" --out "$out/vm" --timeout 900 --mem 1G \
	--add "$stage/bin:/usr/local/bin" --add "$stage/libexec/hwcapreport:/usr/local/libexec/hwcapreport" \
	--deb runc --deb libseccomp2 --deb libc6
rc=$?
set -e
[ -f "$out/vm/output.txt" ] || die "no output from the guest (run.sh exit $rc; see $out/vm/console.txt)"
grep '^RESULT ' "$out/vm/output.txt" >"$out/results.txt" || true
cat "$out/results.txt"
total=$(wc -l <"$out/results.txt")
failed=$(grep -c ' fail' "$out/results.txt" || true)
log "$name ($(head -n1 "$out/vm/kernel.txt")): $((total - failed))/$total passed, ${failed} failed; guest output: $out/vm/output.txt, $(cat "$out/vm/seconds")s"
[ "$rc" = 0 ] && [ "$total" -gt 0 ] && [ "$failed" = 0 ]
