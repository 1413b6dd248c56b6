#!/usr/bin/env bash
# Runs seam's whole test suite. It installs what the tests need first:
# Debian packages with apt-get (when missing), Go modules through the module
# proxy. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# phase NAME: says what runs next, with the seconds since the start (a slow
# CI run shows where its time went).
phase() { echo "[$SECONDS s] $*"; }

# go vet needs nothing from below, and its compiling is most of its time:
# it runs while the packages and peers install (network and disk bound), and
# its verdict is read after them. The compiled packages serve the test builds.
# In a process group of its own, so that an early exit stops all of it.
vetlog=$(mktemp)
vetpid=
trap '[ -n "$vetpid" ] && kill -- -"$vetpid" 2>/dev/null; rm -f "$vetlog"' EXIT
phase "go vet (in the background)"
setsid --wait bash -c 'go mod download && go vet ./...' >"$vetlog" 2>&1 &
vetpid=$!

# Debian packages the tests use: xmllint validates JUnit reports; curl is an
# HTTP/2 (h2c upgrade) caller through the wire; the
# PostgreSQL, MariaDB, Redis and NATS servers are started by seam itself in the
# tests; Chromium is driven headless by the browser steps and the HTML report's tests;
# Python's grpcio is a gRPC caller that is not grpc-go, through the wire.
phase "Debian packages"
. scripts/debian-packages.sh
install_missing libxml2-utils curl postgresql mariadb-server redis-server nats-server chromium chromium-driver python3-grpcio

# WireMock's jar (npm package `wiremock`, run with Java 17): seam's stub is
# tested against it (internal/stub/differential_test.go).
phase "WireMock, Toxiproxy"
SEAM_WIREMOCK_JAR=$(bash scripts/wiremock.sh | tail -n 1)
export SEAM_WIREMOCK_JAR
# toxiproxy-server v2.12.0 (built from the Go module proxy): seam's wire is tested against it (internal/wire/toxidiff_test.go).
SEAM_TOXIPROXY_SERVER=$(bash scripts/toxiproxy.sh | tail -n 1); export SEAM_TOXIPROXY_SERVER

# (The Go modules were downloaded before go vet, above.)
# Tests keep what people may want to look at (the HTML report's screenshots) here.
export SEAM_ARTIFACTS="${SEAM_ARTIFACTS:-${TMPDIR:-/tmp}/seam-artifacts}"; echo "test artifacts: $SEAM_ARTIFACTS"

phase "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"
	echo "$unformatted"
	exit 1
fi
phase "go vet (its result)"
vetrc=0
wait "$vetpid" || vetrc=$?
vetpid=
cat "$vetlog"
if [ "$vetrc" -ne 0 ]; then
	echo "go vet failed (exit $vetrc)"
	exit 1
fi
phase "go test -race"
go test -race -count=1 ./...
# Every fuzz target's seed corpus and the crashes kept in testdata/fuzz ran
# above, as go test runs them. Fuzzing itself (scripts/fuzz.sh) is not part of
# this: -fuzz compiles the standard library and every dependency a third time,
# with coverage instrumentation, five of the run's minutes on a cold machine,
# for 300 new inputs a target. Run it apart: FUZZTIME=10m ./scripts/fuzz.sh
phase "done"
