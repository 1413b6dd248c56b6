#!/usr/bin/env bash
# Installs toxiproxy-server v2.12.0, the peer that seam's wire is tested
# (internal/wire/toxidiff_test.go) and measured (bench/wire) against. It is
# built from the Go module proxy into a cache folder outside the repository:
#
#   ${SEAM_PEERS_CACHE:-$HOME/.cache/seam-peers}/toxiproxy/toxiproxy-server
#
# Usage: bash scripts/toxiproxy.sh   (prints the binary's path as its last line)
# Safe to run again: an installed server of the right version is kept.
set -euo pipefail

module=github.com/Shopify/toxiproxy/v2
version=v2.12.0
dir=${SEAM_PEERS_CACHE:-$HOME/.cache/seam-peers}/toxiproxy
bin=$dir/toxiproxy-server

installed() {
	[[ -x $bin ]] && go version -m "$bin" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$module[[:space:]]+$version[[:space:]]"
}

if ! installed; then
	mkdir -p "$dir"
	echo "toxiproxy $version: building into $dir" >&2
	tmp=$(mktemp -d)
	# Outside the repository, so its go.mod is never touched.
	(cd "$tmp" && GOBIN=$tmp GOFLAGS=-mod=mod go install "$module/cmd/server@$version") >&2
	mv "$tmp/server" "$bin"
	rm -rf "$tmp"
fi
if ! installed; then
	echo "toxiproxy $version: $bin is not that version" >&2
	exit 1
fi
echo "$bin"
