#!/bin/sh
# Interleaved benchmark of the trainer's executors (issue 10): one official
# iteration (D step with the WGAN-GP-eps penalty and DiffAugment, G step;
# n_critic 1, D batch = G batch) per executor, each in its own process so
# that /usr/bin/time -v reports that executor's peak RSS alone.
#
#   sh benchmarks/train_executors.sh MODEL BATCH ROUNDS "EXECUTORS"
#   sh benchmarks/train_executors.sh ../shared/configs/cifar16.yaml 32 2 "gorgonia ort"
#   sh benchmarks/train_executors.sh s 32 1 "ort pytorch"
#
# EXECUTORS: gorgonia, ort, and pytorch (testdata/ref's PyTorch eager bench
# of the same iteration, bench_train_torch_config.py for a FILE.yaml).
# MODEL is a preset name or a model config FILE.yaml. Prints one line per
# run: executor, s/iteration (mean of ITERS=2 timed iterations after a
# warm-up), max RSS, and the time the ONNX Runtime executor spends outside
# ONNX Runtime's runs (wrapping Go inputs, returning freed C memory; weights
# and Adam state stay in Go between steps).
set -eu
MODEL=${1:-tiny}
BATCH=${2:-16}
ROUNDS=${3:-2}
EXECS=${4:-gorgonia ort}
ITERS=${ITERS:-2}
BIN=${BIN:-/tmp/tgan-trainer-bench.test}
PY=${PY:-/usr/bin/python3}
go test -c -o "$BIN" ./trainer
case $MODEL in /*) ;; *.yaml) MODEL=$(pwd)/$MODEL ;; esac
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for e in $EXECS; do
		if [ "$e" = pytorch ]; then # the anchor: testdata/ref's PyTorch 1.13 eager bench, 2 threads
			case $MODEL in
			*.yaml) args="testdata/ref/bench_train_torch_config.py --config $MODEL" ;;
			*) args="testdata/ref/bench_train_torch.py --preset $MODEL" ;;
			esac
			out=$(/usr/bin/time -v $PY $args --batch "$BATCH" --iters "$ITERS" 2>&1) || true
			sec=$(echo "$out" | awk '/ s\/iter$/ {print $(NF-1)}')
		else
			out=$(TGAN_BENCH_MODEL=$MODEL TGAN_BENCH_BATCH=$BATCH TGAN_BENCH_EXECUTOR=$e \
				/usr/bin/time -v "$BIN" -test.run '^$' -test.bench Executor -test.benchtime "${ITERS}x" 2>&1) || true
			sec=$(echo "$out" | awk '/^BenchmarkExecutor/ {for (i = 1; i <= NF; i++) if ($(i+1) == "s/iter") print $i}')
		fi
		io=$(echo "$out" | awk '/^BenchmarkExecutor/ {for (i = 1; i <= NF; i++) if ($(i+1) == "io-ms/iter") print $i}')
		rss=$(echo "$out" | awk -F': ' '/Maximum resident set size/ {printf "%.2f", $2 / 1048576}')
		echo "round $r model $(basename "$MODEL") batch $BATCH executor $e: ${sec:-FAILED} s/iter, max RSS ${rss} GiB, Go<->ORT I/O ${io:-0} ms/iter"
		[ -n "$sec" ] || echo "$out" | grep -v '^	' | tail -3
	done
	r=$((r + 1))
done
