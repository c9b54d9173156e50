#!/bin/sh
# Model zoo benchmark (BENCHMARKS.md, "Model zoo (256 models, STL)"): tgan against
# PyTorch 1.13 eager and against a torch.onnx.export file in a plain ONNX Runtime
# session, interleaved A B A B, one process per run so that /usr/bin/time -v gives
# each run's own peak RSS and CPU seconds. Prints one line per run.
#
#   sh benchmarks/zoo_bench.sh train ROUNDS "CONFIGS" "EXECUTORS"
#       one training iteration (tgan train --steps 1, n_critic 1, D batch = G batch = 2,
#       no DiffAugment) of each benchmarks/zoo/CONFIG.json, EXECUTORS from pytorch, ort,
#       gorgonia; e.g. sh benchmarks/zoo_bench.sh train 1 "celeba64 church64" "pytorch ort gorgonia"
#   sh benchmarks/zoo_bench.sh onnx ROUNDS "PRESETS"
#       G images/s at batch 1 on ONNX Runtime CPU (2 threads): tgan bench --preset P
#       against the torch.onnx.export of the reference G (testdata/ref/export_onnx_ref_hires.py)
#       in benchmarks/plainort; e.g. sh benchmarks/zoo_bench.sh onnx 2 "celeba-hq-256 church-256"
#   sh benchmarks/zoo_bench.sh native ROUNDS "PRESETS"
#       G images/s at batch 1: tgan bench --backend gorgonia against PyTorch eager
#       (testdata/ref/bench_torch_hires.py)
#
# Environment: ITERS (timed forwards per process, default 2), DIR (work folder, default
# /tmp/tgan-zoo-bench: images, exports, runs), PY (default /usr/bin/python3).
# Needs ONNX Runtime (scripts/setup.sh) and Debian's python3-torch and python3-onnx.
set -eu
MODE=${1:?train, onnx or native}
ROUNDS=${2:-1}
WHAT=${3:-}
EXECS=${4:-pytorch ort}
ITERS=${ITERS:-2}
DIR=${DIR:-/tmp/tgan-zoo-bench}
PY=${PY:-/usr/bin/python3}
ROOT=$(pwd)
mkdir -p "$DIR"
go build -o "$DIR/tgan" ./cmd/tgan
go build -o "$DIR/plainort" ./benchmarks/plainort
ONNXRUNTIME_SHARED_LIBRARY_PATH=${ONNXRUNTIME_SHARED_LIBRARY_PATH:-$ROOT/.ort/lib/libonnxruntime.so.1}
export ONNXRUNTIME_SHARED_LIBRARY_PATH

# timed CMD...: runs CMD under /usr/bin/time -v; sets $out (its output), $rss (GiB),
# $cpu (user + system s), $wall (s).
timed() {
	out=$(/usr/bin/time -v "$@" 2>&1) || true
	rss=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {printf "%.2f", $2 / 1048576}')
	cpu=$(echo "$out" | awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.1f", u + s}')
	wall=$(echo "$out" | awk '/Elapsed \(wall clock\)/ {n = split($NF, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s}')
}

load() { awk '{print $1}' /proc/loadavg; }

images() { # images SIDE: four random PNGs of SIDE x SIDE in $DIR/img$SIDE
	[ -d "$DIR/img$1" ] || $PY -c "
import sys, numpy as np; from PIL import Image
r = np.random.default_rng(0); d, n = sys.argv[1], int(sys.argv[2])
import os; os.makedirs(d)
for i in range(4): Image.fromarray(r.integers(0, 256, (n, n, 3), dtype=np.uint8)).save(f'{d}/{i}.png')
" "$DIR/img$1" "$1"
}

train() {
	for c in $WHAT; do
		images "$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['image_size'])" benchmarks/zoo/$c.json)"
	done
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		for c in $WHAT; do
			cfg=$ROOT/benchmarks/zoo/$c.json
			side=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['image_size'])" "$cfg")
			for e in $EXECS; do
				l=$(load)
				if [ "$e" = pytorch ]; then
					timed $PY testdata/ref/bench_train_torch_hires.py --config "$cfg" --batch 2
					it=$(echo "$out" | awk '/ s\/iter,/ {for (i = 1; i <= NF; i++) if ($(i+1) == "s/iter,") print $i}')
				else
					rm -rf "$DIR/run-$c-$e"
					timed "$DIR/tgan" train --config "$cfg" --dataset folder --data "$DIR/img$side" \
						--batch 2 --gen-batch 2 --n-critic 1 --accumulate 1,1 --augment none --steps 1 \
						--out "$DIR/run-$c-$e" --checkpoint-every 1000 --samples 2 --no-tensorboard --executor "$e"
					it=-
				fi
				echo "train round $r $c $e: wall $wall s, cpu $cpu s, max RSS $rss GiB, iteration $it s, load $l -> $(load)"
				echo "$out" | grep -q 'Maximum resident' && [ -n "$rss" ] || echo "$out" | tail -3
			done
		done
		r=$((r + 1))
	done
}

onnx() {
	for p in $WHAT; do
		[ -f "$DIR/$p.onnx" ] || $PY testdata/ref/export_onnx_ref_hires.py --preset "$p" --out "$DIR/$p.onnx" 2>&1 | tail -1
	done
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		for p in $WHAT; do
			for side in tgan torch; do # alternate which goes first
				[ $((r % 2)) -eq 0 ] && side=$([ "$side" = tgan ] && echo torch || echo tgan)
				l=$(load)
				if [ "$side" = tgan ]; then
					timed "$DIR/tgan" bench --preset "$p" --backend onnx --batches 1 --iters "$ITERS"
					ips=$(echo "$out" | awk '/s\/batch/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^s\/batch/) v = $i} END {print v}')
				else
					timed "$DIR/plainort" -batch 1 -iters "$ITERS" "$DIR/$p.onnx"
					ips=$(echo "$out" | awk '/s\/batch/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^s\/batch/) v = $i} END {print v}')
				fi
				echo "onnx round $r $p $side: ${ips:-FAILED} s/image, process wall $wall s, cpu $cpu s, max RSS $rss GiB, load $l -> $(load)"
				[ -n "$ips" ] || echo "$out" | tail -3
			done
		done
		r=$((r + 1))
	done
}

native() {
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		for p in $WHAT; do
			for side in tgan torch; do
				[ $((r % 2)) -eq 0 ] && side=$([ "$side" = tgan ] && echo torch || echo tgan)
				l=$(load)
				if [ "$side" = tgan ]; then
					timed "$DIR/tgan" bench --preset "$p" --backend gorgonia --batches 1 --iters "$ITERS"
				else
					timed $PY testdata/ref/bench_torch_hires.py --preset "$p" --batch 1 --iters "$ITERS"
				fi
				ips=$(echo "$out" | awk '/s\/batch/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^s\/batch/) v = $i} END {print v}')
				echo "native round $r $p $side: ${ips:-FAILED} s/image, process wall $wall s, cpu $cpu s, max RSS $rss GiB, load $l -> $(load)"
				[ -n "$ips" ] || echo "$out" | tail -3
			done
		done
		r=$((r + 1))
	done
}

$MODE
