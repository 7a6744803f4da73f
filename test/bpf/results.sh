#!/usr/bin/env bash
# results.sh: turn "RESULT name=NAME pass|fail DETAIL" lines (stdin) into
# JSON lines in the format of test/e2e's results.jsonl (stdout):
#   {"arch":..,"cpu":..,"kernel":..,"check":"PREFIX.NAME","pass":..,"detail":..}
# Every name in --want must appear once: a missing one is written as a
# failure ("missing: ..."), one reported twice or not in the list fails too.
#
# Usage: results.sh --arch ARCH --cpu MODEL --kernel RELEASE --prefix P --want "NAME..."
set -euo pipefail
PROG=results.sh
die() { echo "$PROG: $*" >&2; exit 1; }
arch='' cpu='' kernel='' prefix='' want=''
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) arch=${2:?}; shift 2 ;;
	--cpu) cpu=${2:?}; shift 2 ;;
	--kernel) kernel=${2:?}; shift 2 ;;
	--prefix) prefix=${2:?}; shift 2 ;;
	--want) want=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument \"$1\" (see --help)" ;;
	esac
done
[[ $arch =~ ^(amd64|arm64)$ ]] || die "--arch \"$arch\": want amd64 or arm64"
[[ $cpu =~ ^[A-Za-z0-9_.,=+-]{1,64}$ ]] || die "--cpu \"$cpu\": want a QEMU model name"
[[ $prefix =~ ^[a-z0-9]+([.-][a-z0-9]+)*$ ]] || die "--prefix \"$prefix\": want lower-case words joined by . or -"
[ -n "$kernel" ] || die "--kernel is required"
[ -n "$want" ] || die "--want is required"
awk -v arch="$arch" -v cpu="$cpu" -v kernel="$kernel" -v prefix="$prefix" -v want="$want" '
function esc(s) {
	gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/[\001-\037]/, " ", s)
	return s
}
function emit(name, pass, detail) {
	printf "{\"arch\":\"%s\",\"cpu\":\"%s\",\"kernel\":\"%s\",\"check\":\"%s.%s\",\"pass\":%s,\"detail\":\"%s\"}\n",
		arch, cpu, esc(kernel), prefix, name, pass ? "true" : "false", esc(detail)
}
BEGIN { n = split(want, w, /[ \t\n]+/); for (i = 1; i <= n; i++) if (w[i] != "") { expected[w[i]] = 1; order[++k] = w[i] } }
$1 == "RESULT" {
	name = $2; sub(/^name=/, "", name)
	detail = $0; sub(/^RESULT name=[^ ]* (pass|fail) ?/, "", detail)
	if (detail == "") detail = ($3 == "pass" ? "passed" : "failed")
	pass = ($3 == "pass")
	if (name !~ /^[a-z0-9]+([.-][a-z0-9]+)*$/) { detail = "bad check name \"" name "\": " detail; name = "bad-name"; pass = 0 }
	if (seen[name]++) { pass = 0; detail = "reported twice: " detail }
	else if (!(name in expected)) { pass = 0; detail = "not an expected check: " detail }
	emit(name, pass, detail)
}
END { for (i = 1; i <= k; i++) if (!(order[i] in seen)) emit(order[i], 0, "missing: the run reported no result for this check") }
'
