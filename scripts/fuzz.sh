#!/usr/bin/env bash
# Runs every fuzz target for N seconds each (default 10): scripts/fuzz.sh [N]
# New crashers land in the package's testdata/fuzz/FuzzX/ and fail the run;
# commit them once fixed so that plain `go test` keeps checking them.
# -fuzzminimizetime is short because every target writes a temp file per input:
# the default 60s minimization of each new input would stall the short CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
targets=(
	"./internal/fileio/npy FuzzDecode"
	"./internal/fileio/npy FuzzReadNPZ"
	"./internal/checkpoint FuzzReadTensors"
	"./internal/checkpoint/pth FuzzImport"
	"./internal/data/dataset FuzzLoadIDX"
	"./internal/data/dataset FuzzLoadCIFAR10"
	"./internal/fileio/imageio FuzzLoadImage"
	"./onnx FuzzReadFile"
	"./model FuzzParseJSON"
)
for t in "${targets[@]}"; do
	set -- $t
	echo "== $1 $2 (${secs}s)"
	go test -run '^$' -fuzz "^$2\$" -fuzztime "${secs}s" -fuzzminimizetime 100x "$1"
done
