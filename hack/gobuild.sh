#!/usr/bin/env bash
# gobuild.sh OUTDIR PKG... — build Go commands as static binaries for
# $GOARCH (default: the host's) into OUTDIR, the one recipe for make build,
# the tests and the QEMU guests. Every command is CGO_ENABLED=0 except
# ./cmd/hwcap-runtime, which links its C front end (internal/front) with
# cgo into a static glibc binary; that needs gcc and libc6-dev (for arm64:
# gcc-aarch64-linux-gnu and libc6-dev-arm64-cross). $GOBUILD_LDFLAGS are
# added to every link (make build: -s -w and the version).
set -euo pipefail
out=${1:?usage: gobuild.sh OUTDIR PKG...}
shift
GO=${GO:-go}
arch=${GOARCH:-$("$GO" env GOARCH)}
ld=${GOBUILD_LDFLAGS:-}

plain=() front=()
for p in "$@"; do
	case $p in
	./cmd/hwcap-runtime) front+=("$p") ;;
	*) plain+=("$p") ;;
	esac
done
mkdir -p "$out"
if ((${#plain[@]})); then
	GOARCH=$arch CGO_ENABLED=0 "$GO" build -trimpath -ldflags "$ld" -o "$out/" "${plain[@]}"
fi
# ./cmd/... built hwcap-runtime without its front end: build it again.
if ((${#front[@]})) || [[ " ${plain[*]} " == *" ./cmd/... "* ]]; then
	cc=${CC:-}
	if [[ -z $cc ]]; then
		case $arch in
		"$("$GO" env GOHOSTARCH)") cc=gcc ;;
		arm64) cc=aarch64-linux-gnu-gcc ;;
		amd64) cc=x86_64-linux-gnu-gcc ;;
		*) echo "gobuild.sh: no C compiler known for GOARCH=$arch (set CC)" >&2; exit 1 ;;
		esac
	fi
	command -v "$cc" >/dev/null || { echo "gobuild.sh: $cc not found: apt-get install gcc libc6-dev (arm64: gcc-aarch64-linux-gnu libc6-dev-arm64-cross), or make deps" >&2; exit 1; }
	GOARCH=$arch CGO_ENABLED=1 CC=$cc "$GO" build -trimpath \
		-ldflags "$ld -linkmode external -extldflags -static" \
		-o "$out/hwcap-runtime" ./cmd/hwcap-runtime
fi
