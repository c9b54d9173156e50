#!/usr/bin/env bash
# gpu_pending.sh: the prepared device command for the GPU items that issues 10 and 12 left
# open (see BENCHMARKS.md, "Waiting for a GPU"). One run, about 7 minutes on one H200:
#
#   issue 12  ONNX Runtime CUDA images/s of tgan's fused CUDA form (what `tgan bench
#             --provider cuda` runs: runtime/fuse.go rewrites the export at session creation)
#             for presets s, xl, final-cifar at batch 1, 32, 256 in fp32 and fp16 (--fp16),
#             with max|a-b|/max|b| against the CPU provider at batch 1 and 32; PyTorch eager
#             (testdata/ref/bench_torch.py; fp32 also with TF32 allowed, which ORT's CUDA
#             provider does by default but tgan's sessions turn off unless TGAN_CUDA_TF32=1)
#             and torch.compile beside it; the standard
#             (unfused, TGAN_ORT_FUSE=off) form of s and final-cifar at 32/256; the attention
#             kernel each MultiHeadAttention node got (ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1)
#             and an ONNX Runtime profile (provider and host time per op kind).
#   issue 10  one training iteration (`tgan train --n-critic 1 --steps 1`, same seed) on the
#             CUDA provider against the CPU provider, v1 (cifar16.yaml) and final
#             (scripts/gpu/final16.yaml): losses and clipped gradients within 1e-3; training
#             images/s of s and final-cifar at batch 64 and 128 (`tgan train --provider cuda`)
#             against testdata/ref/bench_train_torch.py on the same GPU; a short CUDA CIFAR-10
#             run (cifar16.yaml, --minutes from the time left, 1-3) whose losses and sample
#             grids must move.
#   issue 13  testdata/ref/check_export_pth.py --no-go with the machine's PyTorch (2.x):
#             strict loads of `tgan export --pth`, weights_only, the bare G round trip.
#
# Prepare here (no GPU needed; under a minute once ONNX Runtime's CUDA build is downloaded):
#   bash scripts/gpu_prepare_pending.sh
# It runs ../shared/gpu/prepare.sh once (ONNX Runtime 1.29's CUDA build from npm), repacks
# its three libraries as one .tar.gz in pieces .gpu/cuda-01..06 (each as large as one call
# allows beside the ~28 MB working tree), and writes .gpu/part-bin/: tgan.gz (go build -tags
# noblas, stripped, gzipped), data_batch_1.bin (the first 2000 CIFAR-10 records),
# cifar16.yaml, ort-cuda.sha256, COMMIT. It prints the exact carry sequence and checks that
# tree + each part stays under 64 MiB (REPACK=1 re-splits when the tree has grown).
#
# On the device, back to back (the machine goes back after ~30 s idle), 7 calls:
#   status                                  (can_start_another must be true)
#   run carry [".gpu/cuda-01"] command "true"
#   ...   the same for .gpu/cuda-02 .. the last piece the prepare script printed
#   status                                  (read budget_left_s: LEFT)
#   run carry [".gpu/part-bin"] command "GPU_TIME_LEFT=LEFT bash scripts/gpu_pending.sh"
#       timeout_s min(540, LEFT - 30)
# (the steps stop starting at min(400, LEFT - 200) s; the CIFAR run and the torch.compile
# timings end ~140 s later). The checks that have never run come first: the CUDA training
# iteration against the CPU, then training images/s, then inference; summary.txt is
# rewritten after each group, so a run cut short still returns its tables.
#   give_back
# If it fails early (a wrong flag, a missing file), fix, re-prepare part-bin and rerun only
# the last call while the machine is warm.
#
# Dry run here (CPU provider, tiny/small models, 1-4 iterations; CUDA-only steps skipped,
# PyTorch on the CPU): proves flags, paths and the parsing in ~2-3 minutes:
#   GPU_PENDING_DRY_RUN=1 OUT=/tmp/pending nice -n 19 bash scripts/gpu_pending.sh
#
# Results under $OUT (at most 8 files come back):
#   results.jsonl         every measurement as a JSON line: tgan bench --json lines (plus
#                         "form": fused|standard), PyTorch lines (same fields), {"kind":
#                         "train"|"train_compare"|"attention_kernels"|"cifar_run", ...}
#   summary.txt           the tables for BENCHMARKS.md (scripts/gpu/pending_report.py summary):
#                         inference img/s with ORT / eager ratios ("ok" where >= 1), the kernel
#                         per attention node, training img/s and ratios, the 1e-3 check, the run
#   gpu_pending.log       everything printed, with [seconds] at each step
#   profile_summary.txt   ONNX Runtime profiles of s and final-cifar at batch 32
#   attention_kernels.txt the raw debug-info lines, one per node and case
#   cifar_metrics.jsonl, cifar_samples_first.png, cifar_samples_last.png   the CIFAR run
set -uo pipefail
: "${OUT:?OUT is not set: run this through the device tool (or set OUT for a dry run)}"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
rm -f "$OUT"/{gpu_pending.log,results.jsonl,attention_kernels.txt,summary.txt,profile_summary.txt}
exec > >(tee -a "$OUT/gpu_pending.log") 2>&1
cd "$(dirname "$0")/.." || exit 1
export PYTHONUNBUFFERED=1
DRY=${GPU_PENDING_DRY_RUN:-0}
TMP=${TMPDIR:-/tmp}/gpu-pending
rm -rf "$TMP" && mkdir -p "$TMP/prof"
R=$OUT/results.jsonl
REPORT="scripts/gpu/pending_report.py"
start=$SECONDS

if [ "$DRY" = 1 ]; then
	PROV=cpu PY=${PY:-/usr/bin/python3} TORCH_DEV=cpu TORCH_THREADS=2
	PRESETS="tiny" BATCHES_CMP=1,4 BATCHES_BIG=8 ITERS=2 TORCH_DTYPES=fp32,tf32,fp16
	STD_PRESETS="tiny" PROF_PRESETS="tiny" COMPILE_PRESETS="tiny" COMPILE_MODES=eager
	TRAIN_PRESETS="tiny" TRAIN_BATCHES="2" TRAIN_STEPS=4 TORCH_TRAIN_ITERS=1
	CMP_V1_BATCH=4 CMP_FINAL_BATCH=4 CIFAR_BATCH=4 CIFAR_EVERY=2
	DEADLINE=${GPU_PENDING_DEADLINE:-170}
	DATA=../shared/datasets/cifar10/data_batch_1.bin CIFAR16=../shared/configs/cifar16.yaml
	[ -f .gpu/part-bin/data_batch_1.bin ] && DATA=.gpu/part-bin/data_batch_1.bin
	[ -f .gpu/part-bin/cifar16.yaml ] && CIFAR16=.gpu/part-bin/cifar16.yaml
	echo "DRY RUN: CPU provider, preset tiny, tiny iteration counts; CUDA-only steps skipped"
else
	PROV=cuda PY=${PY:-python3} TORCH_DEV=cuda TORCH_THREADS=16
	PRESETS="s xl final-cifar" BATCHES_CMP=1,32 BATCHES_BIG=256 ITERS=20 TORCH_DTYPES=fp32,tf32,fp16
	STD_PRESETS="s final-cifar" PROF_PRESETS="s xl final-cifar" COMPILE_PRESETS="s,final-cifar,xl" COMPILE_MODES=compile
	TRAIN_PRESETS="s final-cifar" TRAIN_BATCHES="64 128" TRAIN_STEPS=8 TORCH_TRAIN_ITERS=5
	CMP_V1_BATCH=16 CMP_FINAL_BATCH=8 CIFAR_BATCH=64 CIFAR_EVERY=50
	DEADLINE=${GPU_PENDING_DEADLINE:-400}
	# GPU_TIME_LEFT: the device budget (status budget_left_s) read right before this call.
	# Steps stop starting at DEADLINE and the tail (the CIFAR run, torch.compile's timings,
	# the summary) takes up to ~140 s more; a minute stays spare.
	if [ -n "${GPU_TIME_LEFT:-}" ] && [ $((GPU_TIME_LEFT - 200)) -lt "$DEADLINE" ]; then
		DEADLINE=$((GPU_TIME_LEFT - 200))
	fi
	DATA=.gpu/part-bin/data_batch_1.bin CIFAR16=.gpu/part-bin/cifar16.yaml
fi

# cuda_lib_dirs: the folders holding the CUDA 13 runtime libraries that ONNX Runtime's CUDA
# provider loads, from the nvidia/ (and torch/lib) folders of the machine's Python packages
# (a whole-disk find took most of a minute); a colon-joined list, or an error naming
# what is missing.
cuda_lib_dirs() {
	$PY - <<'PYEOF'
import glob, os, site, sys
roots = [p for p in sys.path + site.getsitepackages() + [site.getusersitepackages()] if p.endswith(("site-packages", "dist-packages"))]
wanted = ["libcublasLt.so.13", "libcudart.so.13", "libcudnn.so.9", "libcurand.so.10", "libcufft.so.12"]
found = {}
for root in dict.fromkeys(roots):
    for pattern in ("nvidia/**/lib*/", "torch/lib/"):
        for d in glob.glob(os.path.join(root, pattern), recursive=True):
            for w in wanted:
                if w not in found and glob.glob(os.path.join(d, w + "*")):
                    found[w] = os.path.normpath(d)
missing = [w for w in wanted if w not in found]
if missing:
    sys.exit("CUDA libraries not found under the Python packages (%s): %s" % (", ".join(dict.fromkeys(roots)), ", ".join(missing)))
print(":".join(dict.fromkeys(found.values())) + ":")
PYEOF
}

# assemble_cuda: ONNX Runtime's libraries from the carried pieces into .gpu/lib (the
# pieces .gpu/cuda-NN of scripts/gpu_prepare_pending.sh, or ../shared/gpu/prepare.sh's
# part-core + part-NN), and the CUDA 13 libraries that the machine's Python packages ship
# (as ../shared/gpu/on-device.sh does; kept here so that this script needs only the repo
# and .gpu/).
assemble_cuda() {
	local lib=$PWD/.gpu/lib
	mkdir -p "$lib"
	if [ ! -f "$lib/libonnxruntime_providers_cuda.so" ]; then
		if ls .gpu/cuda-[0-9][0-9]/piece >/dev/null 2>&1; then
			cat .gpu/cuda-[0-9][0-9]/piece >"$TMP/ort-cuda.tar.gz"
			echo "$(cat .gpu/part-bin/ort-cuda.sha256)  $TMP/ort-cuda.tar.gz" | sha256sum -c - || {
				echo "the pieces .gpu/cuda-NN do not add up: carry every one of them (and the part-bin of the same preparation)"
				return 1
			}
			tar -xzf "$TMP/ort-cuda.tar.gz" -C "$lib" && rm -f "$TMP/ort-cuda.tar.gz"
		elif ls .gpu/part-[0-9][0-9]/piece >/dev/null 2>&1 && [ -f .gpu/part-core/libonnxruntime.so.1 ]; then
			cat .gpu/part-[0-9][0-9]/piece >"$lib/libonnxruntime_providers_cuda.so.tmp"
			echo "$(cat .gpu/part-core/providers_cuda.sha256)  $lib/libonnxruntime_providers_cuda.so.tmp" | sha256sum -c - || return 1
			mv "$lib/libonnxruntime_providers_cuda.so.tmp" "$lib/libonnxruntime_providers_cuda.so"
			cp .gpu/part-core/libonnxruntime.so.1 .gpu/part-core/libonnxruntime_providers_shared.so "$lib/"
		else
			echo "no ONNX Runtime pieces here: carry every .gpu/cuda-NN first (scripts/gpu_prepare_pending.sh prints the calls)"
			return 1
		fi
	fi
	local dirs
	if ! dirs=$(cuda_lib_dirs); then
		echo "searching /usr /opt /root instead"
		dirs=$(find /usr /opt /root -xdev \( -name 'libcublasLt.so.13*' -o -name 'libcudart.so.13*' -o -name 'libcudnn.so.9*' \
			-o -name 'libcurand.so.10*' -o -name 'libcufft.so.12*' \) -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
	fi
	export LD_LIBRARY_PATH="$lib:${dirs}${LD_LIBRARY_PATH:-}"
	export ONNXRUNTIME_SHARED_LIBRARY_PATH="$lib/libonnxruntime.so.1"
	echo "CUDA library folders: $dirs"
}

# The tgan binary: .gpu/part-bin/tgan.gz, or in a dry run $TGAN_BIN or a fresh build.
B=$TMP/tgan
if [ "$DRY" = 1 ] && [ -n "${TGAN_BIN:-}" ]; then
	cp "$TGAN_BIN" "$B"
elif [ -f .gpu/part-bin/tgan.gz ]; then
	gzip -dc .gpu/part-bin/tgan.gz >"$B" && chmod +x "$B"
elif [ "$DRY" = 1 ]; then
	go build -tags noblas -o "$B" ./cmd/tgan || exit 1
else
	echo "no .gpu/part-bin/tgan.gz: run scripts/gpu_prepare_pending.sh here and carry .gpu/part-bin"
	exit 1
fi
for need in "bench --fp16" "train --provider" "export --fused"; do
	set -- $need
	help=$("$B" "$1" --help 2>&1)
	if [[ $help != *"$2"* ]]; then
		echo "$B $1 has no $2: rebuild it (bash scripts/gpu_prepare_pending.sh)"
		exit 1
	fi
done
for f in "$DATA" "$CIFAR16" scripts/gpu/final16.yaml; do
	[ -f "$f" ] || { echo "missing $f: run scripts/gpu_prepare_pending.sh and carry .gpu/part-bin"; exit 1; }
done
if [ "$DRY" != 1 ]; then
	assemble_cuda || exit 1
	nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
fi
echo "tgan commit: $(cat .gpu/part-bin/COMMIT 2>/dev/null || git rev-parse --short HEAD 2>/dev/null)"
"$B" version 2>&1 | head -8
$PY -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")'

# step NAME TIMEOUT CMD...: run CMD with a time limit unless the deadline has passed.
step() {
	local name=$1 limit=$2
	shift 2
	local t=$((SECONDS - start))
	if [ "$t" -ge "$DEADLINE" ]; then
		echo "== [${t}s] SKIPPED (deadline ${DEADLINE}s) $name"
		return 1
	fi
	echo "== [${t}s] $name"
	timeout "$limit" "$@"
	local rc=$?
	[ $rc -eq 0 ] || echo "!! $name: exit $rc$([ $rc -eq 124 ] && echo ' (timed out)')"
	return $rc
}

# step_quiet LOG NAME TIMEOUT CMD...: step with CMD's output in LOG, its tail shown on failure.
step_quiet() {
	local log=$1
	shift
	step "$1" "$2" sh -c 'log=$1; shift; "$@" >"$log" 2>&1 || { rc=$?; tail -n 8 "$log"; exit $rc; }' sh "$log" "${@:3}"
}

# partial_summary: summary.txt from what results.jsonl holds so far, so that a run cut off
# by the device's limit still returns its tables.
partial_summary() {
	$PY $REPORT summary "$R" --out "$OUT/summary.txt" >/dev/null 2>&1 || true
}

# ort_bench CASE FORM LIMIT ARGS...: tgan bench on $PROV; its JSON lines go to
# results.jsonl with "form" and "case" added. FORM standard runs the export as it is
# (TGAN_ORT_FUSE=off), fused what tgan runs by default.
ort_bench() {
	local case=$1 form=$2 limit=$3
	shift 3
	local js=$TMP/bench-${case// /_}-$form.jsonl fuse=on
	[ "$form" = standard ] && fuse=off
	rm -f "$js"
	step "ort $form $case: $*" "$limit" env TGAN_ORT_FUSE=$fuse "$B" bench --provider "$PROV" --iters "$ITERS" --json "$js" "$@"
	local rc=$?
	$PY $REPORT tag "$js" form="$form" case="$case" --json "$R" >/dev/null
	return $rc
}

# ort_profile CASE ARGS...: one profiled bench run of the fused form with ONNX Runtime's
# attention kernel debug lines on (kept out of the timed runs: they print per node and run),
# parsed into results.jsonl and collected in attention_kernels.txt.
ort_profile() {
	local case=$1
	shift
	local raw=$TMP/raw-${case// /_}.txt
	step "profile $case: $*" 60 env ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1 TGAN_ORT_PROFILE="$TMP/prof/${case// /-}" \
		"$B" bench --provider "$PROV" --iters 2 "$@" >"$raw" 2>&1
	grep -v 'Operator=\|AttentionKernelOptions' "$raw"
	$PY $REPORT kernels "$raw" --case "$case" --json "$R"
	{
		echo "== $case ($*)"
		sed 's/\x1b\[[0-9;]*m//g' "$raw" | grep 'Operator=\|AttentionKernelOptions' | sort | uniq -c
	} >>"$OUT/attention_kernels.txt"
}

# tgan train on the executor that the one-step design moved to the device.
TRAIN=("$B" train --dataset cifar10 --data "$DATA" --executor ort)

# 0. Fail fast: every later step needs the provider to load (10 s instead of 7 minutes of
#    failures when a library is missing).
if ! DEADLINE=100000 step "smoke: tiny on $PROV" 60 "$B" bench --preset tiny --provider "$PROV" --batches 1 --iters 1; then
	echo "!! $PROV does not run: fix that (the lines above say why) and rerun only the last call"
	exit 1
fi

# 1. Never run before, so first (issue 21's device-resident state, issue 10's check): one
#    iteration on $PROV against the CPU provider, same seed and data, losses and clipped
#    gradients within 1e-3.
compare() { # compare LABEL BATCH ARGS...
	local label=$1 b=$2
	shift 2
	local a=$TMP/cmp-$label-$PROV c=$TMP/cmp-$label-cpu
	local one=(--batch "$b" --gen-batch "$b" --n-critic 1 --steps 1 --checkpoint-every 1 --seed 5 --samples 16)
	[ "$DRY" = 1 ] && a=$TMP/cmp-$label-again # a dry run compares two CPU runs
	step_quiet "$c.log" "one iteration $label on cpu" 120 "${TRAIN[@]}" --out "$c" "$@" --provider cpu "${one[@]}" &&
		step_quiet "$a.log" "one iteration $label on $PROV" 120 "${TRAIN[@]}" --out "$a" "$@" --provider "$PROV" "${one[@]}" &&
		$PY $REPORT compare "$a" "$c" --label "$label $PROV vs cpu" --json "$R"
}
compare v1-cifar16 "$CMP_V1_BATCH" --config "$CIFAR16"
compare final16 "$CMP_FINAL_BATCH" --config scripts/gpu/final16.yaml

partial_summary

# 2. Never run before: training throughput, tgan on $PROV (n_critic 1: each iteration one D step with
#    the penalty and DiffAugment, one G step; the first 2 G steps are not timed) and PyTorch
#    eager on the same device (same iteration without DiffAugment).
for p in $TRAIN_PRESETS; do
	for b in $TRAIN_BATCHES; do
		d=$TMP/speed-$p-$b
		step_quiet "$TMP/speed-$p-$b.log" "tgan train $p batch $b ($PROV)" 120 "${TRAIN[@]}" --out "$d" --samples 16 --preset "$p" --provider "$PROV" --batch "$b" \
			--gen-batch "$b" --n-critic 1 --steps "$TRAIN_STEPS" --checkpoint-every 100000 --seed 1 &&
			$PY $REPORT train-speed "$d" --preset "$p" --batch "$b" --backend "tgan ort $PROV" --json "$R"
		step "pytorch train $p batch $b" 90 $PY testdata/ref/bench_train_torch.py --preset "$p" --batch "$b" \
			--iters "$TORCH_TRAIN_ITERS" --device "$TORCH_DEV" --threads "$TORCH_THREADS" --json "$R"
	done
done

partial_summary

# 3. Issue 12: ORT CUDA inference of the fused form (the default), fp32 and fp16; CPU check
#    at the small batches (the CPU provider would take long at 256).
for p in $PRESETS; do
	ort_bench "$p fp32" fused 90 --preset "$p" --batches "$BATCHES_CMP" --compare-cpu
	ort_bench "$p fp32" fused 60 --preset "$p" --batches "$BATCHES_BIG"
	ort_bench "$p fp16" fused 90 --preset "$p" --fp16 --batches "$BATCHES_CMP" --compare-cpu
	ort_bench "$p fp16" fused 60 --preset "$p" --fp16 --batches "$BATCHES_BIG"
done

# 4. PyTorch eager, fp32 (TF32 matmul off, PyTorch's default) and fp16 (G.half()).
step "pytorch eager" 120 $PY testdata/ref/bench_torch.py --preset "${PRESETS// /,}" --device "$TORCH_DEV" \
	--dtype "$TORCH_DTYPES" --batches "$BATCHES_CMP,$BATCHES_BIG" --iters "$ITERS" --threads "$TORCH_THREADS" --json "$R"

# 5. The standard export as it is (TGAN_ORT_FUSE=off): what the fused form gains.
for p in $STD_PRESETS; do
	ort_bench "$p fp32" standard 60 --preset "$p" --batches "${BATCHES_CMP#*,},$BATCHES_BIG"
	ort_bench "$p fp16" standard 60 --preset "$p" --fp16 --batches "${BATCHES_CMP#*,},$BATCHES_BIG"
done

partial_summary

# 6. torch.compile in the background: it compiles and warms up every case now (CPU-bound,
#    overlapping the profiles, the pth check and the CIFAR run below) and times them only once
#    $TMP/quiet exists, so that its timings run on an otherwise idle GPU.
t=$((SECONDS - start))
compile_pid=
if [ "$t" -lt "$DEADLINE" ]; then
	echo "== [${t}s] torch.compile in the background ($COMPILE_PRESETS, fp32/fp16, batch ${BATCHES_CMP#*,},$BATCHES_BIG)"
	timeout $((DEADLINE + 80 - t)) $PY testdata/ref/bench_torch.py --preset "$COMPILE_PRESETS" --device "$TORCH_DEV" \
		--modes "$COMPILE_MODES" --dtype fp32,fp16 --batches "${BATCHES_CMP#*,},$BATCHES_BIG" --iters "$ITERS" \
		--threads "$TORCH_THREADS" --wait-for "$TMP/quiet" --wait-timeout $((DEADLINE + 40 - t)) --json "$TMP/compile.jsonl" \
		>"$TMP/compile.log" 2>&1 &
	compile_pid=$!
fi

# 7. ONNX Runtime profiles of the fused form at the middle batch (provider per node; CUDA
#    node times are host-side launch times in a release build) and the attention kernel
#    each MultiHeadAttention node got.
mid=${BATCHES_CMP#*,}
for p in $PROF_PRESETS; do
	ort_profile "$p fp32 batch $mid" --preset "$p" --batches "$mid"
	ort_profile "$p fp16 batch $mid" --preset "$p" --fp16 --batches "$mid"
done
$PY $REPORT profile "$TMP/prof" --out "$OUT/profile_summary.txt" >/dev/null

partial_summary

# 8. Issue 13's leftover: `tgan export --pth` and the way back with this machine's PyTorch
#     (2.x on the GPU machine, where only 1.13 was tried before; CPU only; no Go toolchain
#     here, so --no-go skips the replay of tgan's Adam step).
step "pth round trip with torch $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null)" 150 \
	$PY testdata/ref/check_export_pth.py --tgan "$B" --work "$TMP/pthcheck" --data "$DATA" --no-go

# 9. Issue 10: a short CIFAR-10 run on $PROV (official recipe: n_critic 5, G batch 2x D's),
#    as long as the deadline allows, 1 to 3 minutes (12 s in a dry run); not started after
#    DEADLINE + 40 s, so that the whole run ends within ~520 s.
t=$((SECONDS - start))
if [ "$DRY" = 1 ]; then
	minutes=0.2
else
	minutes=$(awk -v s=$((DEADLINE - t - 20)) 'BEGIN { m = s / 60; if (m > 3) m = 3; if (m < 1) m = 1; printf "%.2f", m }')
fi
DEADLINE=$((DEADLINE + 40)) step_quiet "$TMP/cifar.log" "cifar16 run on $PROV, $minutes minutes" 240 "${TRAIN[@]}" \
	--out "$TMP/cifar" --config "$CIFAR16" --samples 64 --provider "$PROV" --batch "$CIFAR_BATCH" --minutes "$minutes" \
	--checkpoint-every "$CIFAR_EVERY" --seed 11
if [ -f "$TMP/cifar.log" ]; then
	grep -v '^\s*$' "$TMP/cifar.log" | tail -n 12
	$PY $REPORT cifar "$TMP/cifar" --json "$R" --copy-to "$OUT"
fi

partial_summary

# 10. The torch.compile timings, now on a quiet GPU.
touch "$TMP/quiet"
if [ -n "$compile_pid" ]; then
	echo "== [$((SECONDS - start))s] waiting for torch.compile timings"
	wait "$compile_pid" || echo "!! torch.compile: exit $?"
	cat "$TMP/compile.log"
	[ -f "$TMP/compile.jsonl" ] && cat "$TMP/compile.jsonl" >>"$R"
fi

echo "== [$((SECONDS - start))s] summary"
$PY $REPORT summary "$R" --out "$OUT/summary.txt"
echo "== [$((SECONDS - start))s] done"
