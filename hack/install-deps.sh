#!/usr/bin/env bash
# Installs, from Debian's packages, everything the demo and the tests use.
# Idempotent; needs root. Go itself (1.26+) must already be on PATH.
set -euo pipefail
need=(runc crun podman containerd docker.io criu strace file cpio busybox-static gcc libc6-dev shellcheck
      build-essential flex bison bc libelf-dev libssl-dev xz-utils patch
      qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
      clang-14 llvm-14 libbpf-dev bpftool)
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
# Newer suites, pinned low, for linux-source-7.3 and test kernels only.
if ! grep -rqs trixie-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
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
else
	updated=1
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
	apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
