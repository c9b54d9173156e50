#!/usr/bin/env bash
# test.sh: set up a fresh Debian machine (scripts/setup.sh) and run every
# check: gofmt, go vet, staticcheck, the unit/parity/crash tests and the
# pure-Go kernels. The same command for a newcomer and for CI (.ci/run).
# `go test` replays every fuzz target's committed corpus; fuzzing afresh is
# scripts/fuzz.sh (not in CI: a new find or a slow minimisation would flake).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
# The browser test of the `tgan serve` page (cmd/tgan) drives Debian's
# chromium headless; TGAN_REQUIRE_BROWSER makes it fail rather than skip.
if ! command -v chromium >/dev/null; then
	echo "== apt: chromium (browser test of tgan serve)"
	sudo_if() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
	sudo_if apt-get update -q
	sudo_if env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi
export TGAN_REQUIRE_BROWSER=1
unset TGAN_TEST_NO_ORT
# Every ONNX Runtime test fails on a machine without the library (unless
# TGAN_TEST_NO_ORT=1, which makes them skip: internal/testkit.RequireORT);
# checking it first gives one clear line instead of a page of failures, and
# a green run always includes the executor and export parity tests (the
# tests find the library the way `tgan version` does).
echo "== ONNX Runtime"
if ! go run ./cmd/tgan version; then
	echo "test.sh: no usable ONNX Runtime library (scripts/setup.sh installs it into .ort/lib): the parity tests would fail" >&2
	exit 1
fi
echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== staticcheck"
go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
"$(go env GOPATH)/bin/staticcheck" ./...
echo "== go test"
go test -count=1 -timeout 40m ./...
echo "== pure-Go build (no OpenBLAS, no C kernels): build and the network tests"
go build -tags noblas -o /dev/null ./cmd/tgan
go test -count=1 -tags noblas ./gmodel
echo "all checks passed"
