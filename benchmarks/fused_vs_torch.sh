#!/bin/sh
# Makes the files of BenchmarkVsTorchExport (onnx/fused/bench_test.go):
# DIR/<preset>/generator.onnx, written by tgan export, and DIR/<preset>/G.onnx,
# torch.onnx.export (opset 17) of the same weights, for s, xl (= v1-cifar)
# and final-cifar. The weights are random (make_golden.py's full-size cases,
# saved as an official .pth and imported into tgan). Needs Debian's
# python3-torch and python3-onnx (see testdata/ref/README.md); ~3 GB of disk.
#
#   sh benchmarks/fused_vs_torch.sh /tmp/fused-bench
#   TGAN_FUSED_BENCH=/tmp/fused-bench go test -run '^$' -bench VsTorchExport -benchtime 5x ./onnx/fused/
set -eu
DIR=${1:-/tmp/tgan-fused-bench}
TGAN=${TGAN:-go run ./cmd/tgan}
PY=${PY:-/usr/bin/python3}
for pair in s:v1-s xl:v1-cifar final-cifar:final-cifar; do
	preset=${pair%%:*}
	case=${pair#*:}
	out=$DIR/$preset
	mkdir -p "$out"
	$PY testdata/ref/make_golden.py --case "$case" --out "$out/golden"
	$PY testdata/ref/export_onnx_ref.py --case "$case" --out "$out" --ckpt "$out/golden/official.pth"
	$TGAN import -o "$out/ckpt.safetensors" "$out/golden/official.pth"
	$TGAN export --onnx "$out" "$out/ckpt.safetensors"
done
