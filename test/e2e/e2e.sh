#!/usr/bin/env bash
# e2e.sh: `make e2e`. Builds (or takes from the cache) the patched test
# kernels of test/kernel, cross-compiles the project's binaries, e2e-guest
# and the C payload for each architecture, boots one QEMU TCG guest per
# machine (test/vm/run.sh: busybox initramfs + Debian's runc, libseccomp2
# and libc6 for the guest's arch) that runs every check, runs the host's
# own probe check, and judges all results.
#
# Usage: test/e2e/e2e.sh
# Environment:
#   HWCAP_E2E_OUT       output directory (default: bin/e2e in the checkout)
#   HWCAP_E2E_MACHINES  guests to boot, ARCH/CPU separated by spaces
#                       (default "amd64/max arm64/max arm64/neoverse-n1")
#   HWCAP_E2E_KERNEL    "test" (default): the patched kernels of test/kernel;
#                       "stock": Debian's stock kernels (test/vm's default), a
#                       negative control: every masking check must then FAIL
#   HWCAP_CACHE         cache root of test/kernel and test/vm (default /var/cache/hwcap)
#   GO                  the go command (default go)
# Output in HWCAP_E2E_OUT: results.jsonl (one JSON object per check, every
# machine, missing checks included as failures), summary.txt, timings.txt,
# and per guest vm-ARCH-CPU/ (run.sh's console.log, output.txt, files/ with
# each container's output and the node log).
# Exit status: 0 when every expected check passed; 1 otherwise, including
# when a test kernel cannot be built or a guest does not finish.
set -euo pipefail
shopt -s inherit_errexit

PROG=e2e.sh
die() { echo "$PROG: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${HWCAP_E2E_OUT:-$repo/bin/e2e}
machines=${HWCAP_E2E_MACHINES:-amd64/max arm64/max arm64/neoverse-n1}
kmode=${HWCAP_E2E_KERNEL:-test}
GO=${GO:-go}
export CGO_ENABLED=0

case $kmode in test | stock) ;; *) die "HWCAP_E2E_KERNEL: bad value \"$kmode\" (want test or stock)" ;; esac
command -v "$GO" >/dev/null || die "$GO not found: put Go 1.26+ on PATH"
for m in $machines; do
	[[ $m =~ ^(amd64|arm64)/[A-Za-z0-9_.,=+-]+$ ]] || die "HWCAP_E2E_MACHINES: bad entry \"$m\" (want ARCH/CPU, ARCH amd64 or arm64, e.g. arm64/max)"
done
case $(uname -m) in
x86_64) hostarch=amd64 ;;
aarch64) hostarch=arm64 ;;
*) die "unsupported host architecture $(uname -m)" ;;
esac

mkdir -p "$out"
rm -rf "$out"/vm-* "$out/host" "$out/results.jsonl" "$out/summary.txt"
timings=$out/timings.txt
: >"$timings"
t0=$SECONDS
step() { # step NAME START: record a duration
	local secs=$((SECONDS - $2))
	printf '%-28s %4ds\n' "$1" "$secs" | tee -a "$timings" >&2
}

read -ra mlist <<<"$machines"
# Guest arches need a kernel; the host's arch needs binaries for probe.host.
guestarches=$(for m in "${mlist[@]}"; do echo "${m%%/*}"; done | sort -u)
arches=$({ echo "$guestarches"; echo "$hostarch"; } | sort -u)

# 1. The patched kernels: no kernel, no e2e (a failure here fails the run).
declare -A kernel
for a in $guestarches; do
	if [[ $kmode == stock ]]; then
		kernel[$a]=stock
		continue
	fi
	karch=$a
	[[ $a == amd64 ]] && karch=x86_64
	t=$SECONDS
	log "test kernel for $karch (test/kernel/build.sh; a cold build takes 10-15 minutes)"
	kernel[$a]=$("$repo/test/kernel/build.sh" "$karch") || die "cannot build the $karch test kernel (see the lines above); the e2e run needs it"
	[[ -f ${kernel[$a]} ]] || die "test/kernel/build.sh $karch printed \"${kernel[$a]}\", which is not a file"
	step "kernel $karch" "$t"
done

# 2. Binaries and payloads per architecture.
for a in $arches; do
	t=$SECONDS
	b=$out/build/$a
	mkdir -p "$b/bin" "$b/libexec"
	log "building hwcap binaries and e2e-guest for $a"
	(cd "$repo" && GOARCH=$a GO=$GO nice hack/gobuild.sh "$b/bin" ./cmd/... &&
		GOARCH=$a nice "$GO" build -trimpath -o "$b/bin/e2e-guest" ./test/e2e/guest) ||
		die "go build for $a failed"
	cc=gcc
	[[ $a == arm64 ]] && cc=aarch64-linux-gnu-gcc
	[[ $a == amd64 && $hostarch == arm64 ]] && cc=x86_64-linux-gnu-gcc
	command -v "$cc" >/dev/null || die "$cc not found: apt-get install gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross (make deps)"
	"$cc" -static -O2 -Wall -Wextra -Werror -o "$b/libexec/hwcapreport" "$here/payload/hwcapreport.c" ||
		die "compiling payload/hwcapreport.c with $cc failed"
	step "build $a" "$t"
done

# 3. One guest per machine, all checks inside.
files=()
for m in "${mlist[@]}"; do
	a=${m%%/*} cpu=${m#*/}
	t=$SECONDS
	vm=$out/vm-$a-$cpu
	mkdir -p "$vm"
	{ printf 'E2E_CPU=%s\n' "$cpu"; cat "$here/guest.sh"; } >"$out/guest-$a-$cpu.sh"
	kargs=()
	if [[ ${kernel[$a]} == stock ]]; then
		log "booting $m on Debian's stock kernel (negative control: the masking checks must fail)"
	else
		log "booting $m on $(basename "$(dirname "${kernel[$a]}")")"
		kargs=(--kernel "${kernel[$a]}")
	fi
	set +e
	"$repo/test/vm/run.sh" --arch "$a" --cpu "$cpu" "${kargs[@]}" \
		--script "$out/guest-$a-$cpu.sh" --out "$vm" --timeout 600 \
		--add "$out/build/$a/bin:/usr/local/bin" \
		--add "$out/build/$a/libexec/hwcapreport:/usr/local/libexec/hwcap-e2e/hwcapreport" \
		--deb runc --deb libseccomp2 --deb libc6
	rc=$?
	set -e
	[[ -f $vm/output.txt ]] && sed 's/^/  | /' "$vm/output.txt" >&2
	[[ $rc == 0 ]] || log "$m: run.sh exit $rc (see $vm/console.txt); its checks count as failed or missing"
	files+=("$vm/files/results.jsonl")
	step "guest $m" "$t"
done

# 4. The host's stock kernel.
t=$SECONDS
mkdir -p "$out/host"
"$out/build/$hostarch/bin/e2e-guest" -host -bin "$out/build/$hostarch/bin" -out "$out/host/results.jsonl" >&2 || true
files+=("$out/host/results.jsonl")
step "host probe" "$t"

# 5. Judge.
list=$hostarch/host
for m in "${mlist[@]}"; do list+=",$m"; done
set +e
(cd "$repo" && "$GO" run ./test/e2e/report -machines "$list" -o "$out/results.jsonl" "${files[@]}") | tee "$out/summary.txt"
rc=${PIPESTATUS[0]}
set -e
step "total" "$t0"
log "results: $out/results.jsonl, summary: $out/summary.txt, timings: $out/timings.txt"
exit "$rc"
