#!/usr/bin/env bash
# Fuzzes every Fuzz* target of seam (or those of the packages named) for
# FUZZTIME each (default 3s); a crash is written to the package's
# testdata/fuzz, where go test -race (the test command) runs it from then on.
# Longer runs: FUZZTIME=10m ./scripts/fuzz.sh [PACKAGE...]
#
# Each package's fuzzing test binary is built once (go test -c -fuzz) and
# runs its targets one after another: `go test -fuzz` per target linked a
# new binary each time, most of this script's time on a cold machine.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi
# Where go test -fuzz keeps what it generated (so runs build on each other).
cache=$(go env GOCACHE)/fuzz
bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT
for pkg in "${pkgs[@]}"; do
	bin=$bins/$(echo "$pkg" | tr -c 'A-Za-z0-9\n' '_').test
	go test -c -fuzz . -o "$bin" "$pkg"
	for target in $(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | sed 's/^func //' | sort -u); do
		echo "fuzz $pkg $target ($fuzztime)"
		# Run in the package's folder, as go test does: the seed corpus is
		# testdata/fuzz there, and a crash is written there.
		(cd "$pkg" && "$bin" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime "$fuzztime" \
			-test.fuzzminimizetime 5s -test.parallel 1 -test.timeout 10m -test.fuzzcachedir "$cache")
	done
done
