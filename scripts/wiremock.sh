#!/usr/bin/env bash
# Installs WireMock's standalone jar, the peer that seam's stub is tested
# (internal/stub/wiremock_test.go) and measured (bench/stub) against. The npm
# package `wiremock` bundles the jar at node_modules/wiremock/build/; Java 17
# runs it. Everything goes into a cache folder outside the repository:
#
#   ${SEAM_PEERS_CACHE:-$HOME/.cache/seam-peers}/wiremock
#
# Usage: bash scripts/wiremock.sh   (prints the jar's path as its last line)
# Safe to run again: an installed jar of the right version is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/debian-packages.sh"

version=3.13.2
dir=${SEAM_PEERS_CACHE:-$HOME/.cache/seam-peers}/wiremock
jar=$dir/node_modules/wiremock/build/wiremock-standalone-$version.jar

if ! command -v java >/dev/null 2>&1; then
	install_missing openjdk-17-jre-headless
fi
if [[ ! -f $jar ]]; then
	if ! command -v npm >/dev/null 2>&1; then
		install_missing npm
	fi
	mkdir -p "$dir"
	echo "wiremock $version: installing into $dir" >&2
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "wiremock@$version" >&2
fi
if [[ ! -f $jar ]]; then
	echo "wiremock $version: the npm package has no $jar" >&2
	exit 1
fi
echo "$jar"
