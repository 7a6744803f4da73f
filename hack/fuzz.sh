#!/usr/bin/env bash
# Runs every native fuzz target in the module for $1 (default 60s) each.
set -euo pipefail
t=${1:-60s}
fail=0
for pkg in $(go list ./...); do
	# internal/front is C (cgo): its tests exist only with cgo.
	cgo=${CGO_ENABLED:-0}
	[[ $pkg == */internal/front ]] && cgo=1
	for f in $(CGO_ENABLED=$cgo go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "== $pkg $f ($t)"
		CGO_ENABLED=$cgo go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" || fail=1
	done
done
exit $fail
