#!/usr/bin/env bash
# The main job: a real container under runc, started through hwcap-runtime
# with a hwcap.dev/deny annotation, on the node configuration built into the
# binaries (policy enforce). On a kernel that passes masks on (the series, or
# the eBPF backend, which the demo installs for its run where lockdown allows
# it), the container's processes print the masked features; on one that does
# not, the policy decision is shown, then the same container under policy warn.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/bin
for b in hwcap-runtime hwcapctl hwcap-shim; do
	[ -x "$BIN/$b" ] || { echo "demo: $BIN/$b missing: run make build" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }
command -v runc >/dev/null || { echo "demo: runc not found: run hack/install-deps.sh --demo" >&2; exit 1; }
busybox=$(command -v busybox) || { echo "demo: busybox not found: run hack/install-deps.sh --demo" >&2; exit 1; }

work=$(mktemp -d /tmp/hwcap-demo.XXXXXX)
demo_bpf= # set when the demo installed the eBPF backend (removed again on exit)
cleanup() {
	runc --root "$work/state" delete -f demo-enforce >/dev/null 2>&1 || true
	runc --root "$work/state" delete -f demo-warn >/dev/null 2>&1 || true
	if [ -n "$demo_bpf" ]; then "$BIN/hwcapctl" bpf remove >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
rootfs=$work/bundle/rootfs
mkdir -p "$rootfs"/{bin,proc,dev,sys,tmp}
cp "$busybox" "$rootfs/bin/busybox"
for a in sh cat grep sleep; do ln -s busybox "$rootfs/bin/$a"; done
cp "$BIN/hwcapctl" "$rootfs/bin/hwcapctl"

# Features to hide: SVE and SVE2 on arm64 if present, else two present ones.
present=$("$BIN/hwcapctl" features --json | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["features"]))')
deny=${HWCAP_DEMO_DENY:-}
if [ -z "$deny" ]; then
	for f in sve sve2 sme; do grep -qx "$f" <<<"$present" && deny+="${deny:+,}$f"; done
	[ -n "$deny" ] || deny=$(tail -n 2 <<<"$present" | paste -sd,)
fi

echo "== host: $(uname -m), kernel $(uname -r)"
"$BIN/hwcapctl" features | sed -n '/AT_HWCAP)/p;/AT_HWCAP2)/p'
echo
# Without the series, the eBPF backend masks where kernel lockdown allows
# it: the demo installs it for its own run (and removes it at exit) unless
# the node already has it; where it cannot, install says why in one line.
if ! "$BIN/hwcapctl" probe --json | grep -q '"inherits": true' && [ ! -e /sys/fs/bpf/hwcap ]; then
	echo "== eBPF backend: hwcapctl bpf install (removed again when the demo ends)"
	if "$BIN/hwcapctl" bpf install; then demo_bpf=1; fi
	echo
fi
echo "== kernel support probe"
"$BIN/hwcapctl" probe | grep -E '^(path|masks)'
echo

inside='echo "init (pid $$):"; hwcapctl features | grep "AT_HWCAP2\?)"; sh -c "echo grandchild:; hwcapctl features | grep \"AT_HWCAP2\\?)\""'
write_bundle() { # $1 = extra annotations JSON
	cd "$work/bundle" && runc spec && cd - >/dev/null
	python3 - "$work/bundle/config.json" "$deny" "$1" "$inside" <<'PY'
import json, sys
path, deny, extra, inside = sys.argv[1:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c", inside]
c["process"]["env"] = ["PATH=/bin"]
c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
c["annotations"] = {"hwcap.dev/deny": deny, **json.loads(extra)}
json.dump(c, open(path, "w"), indent=2)
PY
}

echo "== container 1: annotation hwcap.dev/deny=$deny, built-in node configuration (policy enforce)"
write_bundle '{}'
set +e
"$BIN/hwcap-runtime" --root "$work/state" run --bundle "$work/bundle" demo-enforce
rc=$?
set -e
echo "-> exit code $rc"
echo

echo "== container 2: the same under a node configuration with defaultPolicy warn"
cat > "$work/config.json" <<JSON
{"defaultPolicy": "warn", "logFile": "$work/hwcap.log"}
JSON
HWCAP_CONFIG=$work/config.json "$BIN/hwcap-runtime" --root "$work/state" run --bundle "$work/bundle" demo-warn
echo "-> node log:"
cat "$work/hwcap.log"
echo
backend=$("$BIN/hwcapctl" probe --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("backend","none"))')
if [ "$backend" != none ]; then
	echo "Masks are passed on here (backend $backend): the container's processes above lack: $deny"
else
	echo "This kernel lacks the \"exec: inherit HWCAPs\" series and the eBPF backend cannot work here: enforce refused"
	echo "the container, warn ran it unmasked and logged why. make e2e shows both backends masking under QEMU."
fi
