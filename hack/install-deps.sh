#!/usr/bin/env bash
# install-deps.sh [--demo]: installs, from Debian's packages, what the tests
# use (make deps, make check), or with --demo only what make demo needs: the
# C compiler and static libc that build hwcap-runtime's front end, runc,
# a static busybox for the container and python3 for the demo script.
# Idempotent; needs root. Go itself (1.26+) must already be on PATH.
set -euo pipefail
demo=(runc busybox-static python3 gcc libc6-dev)
tests=("${demo[@]}" crun podman containerd docker.io criu strace file cpio shellcheck
       build-essential flex bison bc libelf-dev libssl-dev xz-utils patch
       qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
       gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
       clang-14 llvm-14 libbpf-dev bpftool)
case ${1:-} in
--demo) need=("${demo[@]}") ;;
"") need=("${tests[@]}") ;;
*) echo "usage: install-deps.sh [--demo]" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (sudo make ...)" >&2; exit 1
fi
if ! command -v go >/dev/null; then
	echo "install-deps: Go 1.26 or newer is needed on PATH (https://go.dev/dl)" >&2; exit 1
fi
missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Newer suites, pinned low (installed only when asked for by name or with
# -t; never an upgrade of the host's packages): trixie and trixie-backports
# for linux-source-7.3 and test kernels, and the suite test/criu/criu.env
# names for CRIU (test/criu/fetch.sh downloads from it; nothing from it is
# installed). The CRIU suite is pinned below trixie so that a package both
# carry still resolves to trixie's.
# shellcheck source=/dev/null # test/criu/criu.env: CRIU_SUITE, CRIU_VERSION
. "$(dirname "$0")/../test/criu/criu.env"
# shellcheck source=/dev/null
host=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
# listed SUITE: whether an apt source (one-line or deb822) names SUITE.
listed() {
	grep -hsE "^[[:space:]]*(Suites:([[:space:]]+[^[:space:]]+)*[[:space:]]+$1([[:space:]]|\$)|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+$1([[:space:]]|\$))" \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources >/dev/null
}
# add_suites NAME PRIORITY SUITE...: an apt source file hwcap-NAME for the
# SUITEs not listed yet, each pinned to PRIORITY.
add_suites() {
	local name=$1 prio=$2 s new=()
	shift 2
	for s in "$@"; do
		[ "$s" = "$host" ] || listed "$s" || new+=("$s")
	done
	[ ${#new[@]} -gt 0 ] || return 0
	printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"${new[*]}" >"/etc/apt/sources.list.d/hwcap-$name.sources"
	for s in "${new[@]}"; do printf 'Package: *\nPin: release n=%s\nPin-Priority: %s\n\n' "$s" "$prio"; done \
		>"/etc/apt/preferences.d/hwcap-$name"
	echo "install-deps: added apt source(s) ${new[*]} (pinned to $prio)" >&2
}
updated=1
# The demo needs none of these suites.
if [ "${1:-}" != --demo ]; then
	add_suites trixie 100 trixie trixie-backports
	add_suites "$CRIU_SUITE" 50 "$CRIU_SUITE"
	# apt's lists must know every suite used (a source added by an earlier,
	# interrupted run has none yet).
	for s in trixie-backports "$CRIU_SUITE"; do
		apt-cache policy 2>/dev/null | grep -q "n=$s," || updated=
	done
fi
# bookworm's 6.1 kernel that test/vm/stock-kernels pins comes from bookworm-security (Debian 12
# has it by default); added, pinned low like the above, only where it is missing.
if ! grep -rqs bookworm-security /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat > /etc/apt/sources.list.d/hwcap-bookworm-security.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	printf 'Package: *\nPin: release n=bookworm-security\nPin-Priority: 100\n' > /etc/apt/preferences.d/hwcap-bookworm-security
	updated=
fi
if [ ${#missing[@]} -gt 0 ] || [ -z "$updated" ]; then
	apt-get -o DPkg::Lock::Timeout=600 update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "install-deps: all ${#need[@]} packages present (${need[*]})"
fi
