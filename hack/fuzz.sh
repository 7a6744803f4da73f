#!/usr/bin/env bash
# Runs every native fuzz target in the module for $1 (default 60s) each.
set -euo pipefail
t=${1:-60s}
fail=0
for pkg in $(go list ./...); do
	for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "== $pkg $f ($t)"
		go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" || fail=1
	done
done
exit $fail
