#!/usr/bin/env bash
# Runs every Fuzz* target of seam for a short time each (FUZZTIME, default
# 3s), so a target that no longer builds, or a crash its corpus already
# holds, fails CI. Longer runs: FUZZTIME=10m ./scripts/fuzz.sh [PACKAGE...]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-3s}
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
	mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
fi
for pkg in "${pkgs[@]}"; do
	for target in $(grep -h -o '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | sed 's/^func //' | sort -u); do
		echo "fuzz $pkg $target ($fuzztime)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s -parallel 1 "$pkg"
	done
done
