#!/usr/bin/env bash
# Runs seam's whole test suite. It installs what the tests need first:
# Debian packages with apt-get (when missing), Go modules through the module
# proxy. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: xmllint validates JUnit reports; the
# PostgreSQL, MariaDB, Redis and NATS servers are started by seam itself in the tests.
packages=(libxml2-utils postgresql redis-server nats-server mariadb-server)
missing=()
for p in "${packages[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "installing Debian packages: ${missing[*]}"
	sudo_cmd=()
	if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

go mod download

echo "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"
	echo "$unformatted"
	exit 1
fi
echo "go vet"
go vet ./...
echo "go test -race"
go test -race -count=1 ./...
