#!/usr/bin/env bash
# Runs seam's whole test suite. It installs what the tests need first:
# Debian packages with apt-get (when missing), Go modules through the module
# proxy. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# phase NAME: says what runs next, with the seconds since the start (a slow
# CI run shows where its time went).
phase() { echo "[$SECONDS s] $*"; }

# Debian packages the tests use: xmllint validates JUnit reports; the
# PostgreSQL, MariaDB, Redis and NATS servers are started by seam itself in the
# tests; Chromium is driven headless by the browser steps and the HTML report's tests.
phase "Debian packages"
. scripts/debian-packages.sh
install_missing libxml2-utils postgresql mariadb-server redis-server nats-server chromium chromium-driver

# WireMock's jar (npm package `wiremock`, run with Java 17): seam's stub is
# tested against it (internal/stub/differential_test.go).
phase "WireMock, Toxiproxy, Go modules"
SEAM_WIREMOCK_JAR=$(bash scripts/wiremock.sh | tail -n 1)
export SEAM_WIREMOCK_JAR
# toxiproxy-server v2.12.0 (built from the Go module proxy): seam's wire is tested against it (internal/wire/toxidiff_test.go).
SEAM_TOXIPROXY_SERVER=$(bash scripts/toxiproxy.sh | tail -n 1); export SEAM_TOXIPROXY_SERVER

go mod download
# Tests keep what people may want to look at (the HTML report's screenshots) here.
export SEAM_ARTIFACTS="${SEAM_ARTIFACTS:-${TMPDIR:-/tmp}/seam-artifacts}"; echo "test artifacts: $SEAM_ARTIFACTS"

phase "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"
	echo "$unformatted"
	exit 1
fi
phase "go vet"
go vet ./...
phase "go test -race"
go test -race -count=1 ./...
# A count, not a time: a time that ends while the fuzzer still gathers its
# baseline fails with "context deadline exceeded" (a known go test -fuzz flake).
phase "fuzz (every Fuzz target, 300 inputs each)"; FUZZTIME=300x ./scripts/fuzz.sh
phase "done"
