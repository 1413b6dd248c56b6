#!/usr/bin/env bash
# Runs seam on the bundled example system: installs the servers it uses
# (Debian packages postgresql, nats-server and chromium) when missing, then
#   go run ./cmd/seam run examples/shop [ARGS]
# e.g. ./scripts/example.sh --var broken=true (or broken_pricing=true)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/debian-packages.sh
install_missing postgresql nats-server chromium
exec go run ./cmd/seam run examples/shop "$@"
