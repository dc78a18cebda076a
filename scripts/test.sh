#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests
# need (the pinned MinIO build into .bin/), checks formatting and vet, then
# runs every test with the race detector. With CI=true a missing component
# fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x .bin/minio ] || [ "$(cat .bin/minio.version 2>/dev/null)" != "$MINIO_VERSION" ]; then
	step "building MinIO $MINIO_VERSION into .bin/ (once; cached)"
	mkdir -p .bin
	GOBIN="$PWD/.bin" go install "github.com/minio/minio@$MINIO_VERSION"
	echo "$MINIO_VERSION" > .bin/minio.version
fi
export SMSGW_MINIO="$PWD/.bin/minio"

# Interop peers we did not write: Kannel (Debian) and the npm smpp package;
# strace, with which a test counts the embedded server's fsyncs (nats.sync_always).
if ! command -v bearerbox >/dev/null || ! command -v smsbox >/dev/null || ! command -v strace >/dev/null; then
	step "installing Kannel and strace (apt-get install kannel strace)"
	SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kannel strace >/dev/null ||
		{ $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends kannel strace >/dev/null; } ||
		echo "could not install kannel/strace; their tests will fail under CI=true"
fi
if [ ! -d e2e/testdata/npm/node_modules/smpp ]; then
	step "installing the npm smpp package (npm ci in e2e/testdata/npm)"
	(cd e2e/testdata/npm && npm ci --no-audit --no-fund --loglevel=error) ||
		echo "could not install the npm smpp package; its interop tests will fail under CI=true"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.bin/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "go test -race"
go test -race -count=1 -timeout 30m ./... 2>&1 | tee /tmp/smsgw-test.log
