#!/usr/bin/env bash
# Install the peers that seam's benchmarks compare against, into a cache
# folder outside the repository:
#
#   ${SEAM_BENCH_CACHE:-$HOME/.cache/seam-bench}/bin/venom              venom v1.3.0
#   ${SEAM_BENCH_CACHE:-$HOME/.cache/seam-bench}/bin/toxiproxy-server   Toxiproxy v2.12.0
#   WireMock's standalone jar                                          scripts/wiremock.sh
#   ${SEAM_BENCH_CACHE:-$HOME/.cache/seam-bench}/playwright            playwright-core (npm), on Debian's chromium
#
# Usage: bash bench/peers.sh
# Safe to run again: an installed peer of the right version is kept.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${SEAM_BENCH_CACHE:-$HOME/.cache/seam-bench}
bin=$cache/bin
mkdir -p "$bin"
cd "$cache" # run go outside the repository, so its go.mod is never touched

venom_module=github.com/ovh/venom
venom_version=v1.3.0

install_venom() {
	local want=$venom_version
	# `venom version` of a go-installed venom says "snapshot"; the module
	# version is in the binary's build information.
	if [[ -x $bin/venom ]] && go version -m "$bin/venom" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$venom_module[[:space:]]+$want[[:space:]]"; then
		echo "venom $want: already in $bin"
		return 0
	fi
	# Ask the module proxy what it has before building anything.
	echo "venom: versions listed: $(go list -m -versions "$venom_module" 2>/dev/null | cut -d' ' -f2- || echo '?')"
	if ! go list -m "$venom_module@$want" >/dev/null 2>&1; then
		echo "venom $want: not found on the Go module proxy; skipped" >&2
		return 1
	fi
	echo "venom $want: building into $bin (takes a few minutes) …"
	GOBIN=$bin go install "$venom_module/cmd/venom@$want"
	go version -m "$bin/venom" | grep -E "^[[:space:]]+mod[[:space:]]+$venom_module[[:space:]]"
}

toxiproxy_module=github.com/Shopify/toxiproxy/v2
toxiproxy_version=v2.12.0

install_toxiproxy() {
	local want=$toxiproxy_version
	if [[ -x $bin/toxiproxy-server ]] && go version -m "$bin/toxiproxy-server" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+$toxiproxy_module[[:space:]]+$want[[:space:]]"; then
		echo "toxiproxy $want: already in $bin"
		return 0
	fi
	echo "toxiproxy $want: building into $bin …"
	local tmp
	tmp=$(mktemp -d)
	GOBIN=$tmp go install "$toxiproxy_module/cmd/server@$want"
	mv "$tmp/server" "$bin/toxiproxy-server"
	rmdir "$tmp"
}

playwright_version=1.65.1

# playwright-core drives the machine's Chromium (bench/browser gives it
# /usr/bin/chromium): it downloads no browser of its own.
install_playwright() {
	local want=$playwright_version dir=$cache/playwright
	if [[ -f $dir/node_modules/playwright-core/package.json ]] && grep -q "\"version\": \"$want\"" "$dir/node_modules/playwright-core/package.json"; then
		echo "playwright-core $want: already in $dir"
		return 0
	fi
	if ! command -v npm >/dev/null 2>&1; then
		. "$repo/scripts/debian-packages.sh"
		install_missing npm
	fi
	mkdir -p "$dir"
	echo "playwright-core $want: installing into $dir …"
	npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "playwright-core@$want"
}

status=0
install_playwright || status=1
install_venom || status=1
install_toxiproxy || status=1
bash "$repo/scripts/wiremock.sh" >/dev/null || status=1
exit $status
