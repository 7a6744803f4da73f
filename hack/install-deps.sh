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
       gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
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
updated=1
# The tests' kernels need linux-source-7.3 from newer suites, pinned low so
# that nothing else is taken from them. The demo needs none of it.
if [ "${1:-}" != --demo ] && ! grep -rqs trixie-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
	cat > /etc/apt/sources.list.d/hwcap-trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n\nPackage: *\nPin: release n=trixie-backports\nPin-Priority: 100\n' \
		> /etc/apt/preferences.d/hwcap-trixie
	updated=
fi
if [ ${#missing[@]} -gt 0 ] || [ -z "$updated" ]; then
	apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "install-deps: all ${#need[@]} packages present (${need[*]})"
fi
