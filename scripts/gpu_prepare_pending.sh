#!/usr/bin/env bash
# gpu_prepare_pending.sh: prepare, on this machine (no GPU needed), what
# scripts/gpu_pending.sh needs on a lent device machine, and print the carry sequence.
#
#   bash scripts/gpu_prepare_pending.sh            # from the project root
#   SKIP_ORT=1 bash scripts/gpu_prepare_pending.sh # keep .gpu/part-core and part-NN as they are
#
# Fills .gpu/ (ignored by .gitignore):
#   part-core/, part-01..NN/  ONNX Runtime 1.29's CUDA build, from ../shared/gpu/prepare.sh
#                             (npm packages; skipped when part-core is already there)
#   cuda-01..NN/piece         the same three libraries repacked as one gzipped tar, split
#                             as large as one call allows (the tree + MARGIN_MB=4 left free):
#                             6 calls instead of prepare.sh's 11 (its 45 MB core library
#                             no longer fits beside the tree); REPACK=1 redoes it
#   part-bin/ort-cuda.sha256  the tar's checksum, checked on the device
#   part-bin/tgan.gz          go build -tags noblas -ldflags '-s -w' ./cmd/tgan, gzipped
#                             (the device has no Go and no OpenBLAS)
#   part-bin/data_batch_1.bin the first 5000 records of CIFAR-10's data_batch_1.bin
#   part-bin/cifar16.yaml     ../shared/configs/cifar16.yaml
#   part-bin/COMMIT           the commit the binary was built from
# Every device call carries the working tree too; the tree plus the largest part must stay
# under 64 MiB, which this script checks.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
RECORDS=${CIFAR_RECORDS:-2000} # 6 MB: part-bin must fit beside the 44 MiB tree
if [ "${SKIP_ORT:-0}" != 1 ] && [ ! -f .gpu/part-core/libonnxruntime.so.1 ]; then
	echo "== ONNX Runtime CUDA build into .gpu/part-core and .gpu/part-NN ($SHARED/gpu/prepare.sh)"
	"$SHARED/gpu/prepare.sh"
fi
bin=.gpu/part-bin
mkdir -p "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== tgan (noblas, stripped) -> $bin/tgan.gz"
go build -tags noblas -ldflags '-s -w' -o "$tmp/tgan" ./cmd/tgan
gzip -9 -c "$tmp/tgan" >"$bin/tgan.gz.tmp" && mv "$bin/tgan.gz.tmp" "$bin/tgan.gz"
rm -f "$bin/tgan" # a binary from prepare.sh's optional argument would only add size
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- cmd runtime exporter internal trainer model gmodel 2>/dev/null || commit="$commit+dirty"
echo "$commit" >"$bin/COMMIT"
echo "== CIFAR-10: first $RECORDS records, config cifar16.yaml"
head -c $((3073 * RECORDS)) "$SHARED/datasets/cifar10/data_batch_1.bin" >"$bin/data_batch_1.bin"
cp "$SHARED/configs/cifar16.yaml" "$bin/cifar16.yaml"
[ -f "$SHARED/gpu/on-device.sh" ] && cp "$SHARED/gpu/on-device.sh" "$bin/" # for hand-run commands

# Sizes: what travels with each call is the working tree (tracked and untracked files that
# git does not ignore) plus the carried part.
tree=$( (git ls-files; git ls-files --others --exclude-standard) | sort -u | while IFS= read -r f; do
	[ -f "$f" ] && stat -c %s "$f"
done | awk '{ s += $1 } END { print s + 0 }')
limit=$((64 * 1024 * 1024))

# ONNX Runtime's three libraries as one gzipped tar in pieces .gpu/cuda-01..NN, each as large
# as the limit allows with MARGIN_MB left for the tree to grow: prepare.sh's own layout needs
# a call per 24 MB piece plus one for a 45 MB core library that no longer fits beside the tree.
if [ ! -f .gpu/cuda-01/piece ] || [ ! -f "$bin/ort-cuda.sha256" ] || [ "${REPACK:-0}" = 1 ]; then
	echo "== ONNX Runtime libraries -> one .tar.gz in pieces .gpu/cuda-NN"
	mkdir -p "$tmp/lib"
	cp .gpu/part-core/libonnxruntime.so.1 .gpu/part-core/libonnxruntime_providers_shared.so "$tmp/lib/"
	cat .gpu/part-[0-9][0-9]/piece >"$tmp/lib/libonnxruntime_providers_cuda.so"
	echo "$(cat .gpu/part-core/providers_cuda.sha256)  $tmp/lib/libonnxruntime_providers_cuda.so" | sha256sum -c -
	tar -C "$tmp/lib" -cf - . | gzip -6 >"$tmp/ort-cuda.tar.gz"
	rm -rf "$tmp/lib" .gpu/cuda-[0-9][0-9]
	piece=$((limit - tree - ${MARGIN_MB:-4} * 1024 * 1024))
	split -b "$piece" -d -a 2 "$tmp/ort-cuda.tar.gz" "$tmp/piece."
	for p in "$tmp"/piece.*; do
		n=$(printf '%02d' $((10#${p##*.} + 1)))
		mkdir -p ".gpu/cuda-$n" && mv "$p" ".gpu/cuda-$n/piece"
	done
	(cd "$tmp" && sha256sum ort-cuda.tar.gz | cut -d' ' -f1) >"$bin/ort-cuda.sha256"
	rm -f "$tmp/ort-cuda.tar.gz"
fi

echo "== sizes (working tree $((tree / 1048576)) MiB; each call: tree + one part < 64 MiB)"
parts=()
for d in .gpu/cuda-[0-9][0-9] .gpu/part-bin; do
	[ -d "$d" ] || continue
	size=$(du -sb "$d" | cut -f1)
	total=$((tree + size))
	flag=ok
	[ "$total" -lt "$limit" ] || flag="TOO BIG: rerun with REPACK=1 (the tree grew), or shrink the tree"
	awk -v d="$d" -v s="$size" -v t="$total" -v f="$flag" 'BEGIN { printf "  %-16s %6.1f MiB  + tree = %6.1f MiB  %s\n", d, s / 1048576, t / 1048576, f }'
	parts+=("$d")
done
echo "== device calls, back to back (status first: can_start_another must be true):"
for d in "${parts[@]}"; do
	if [ "$d" = .gpu/part-bin ]; then
		echo "  status                                   (read budget_left_s: LEFT)"
		echo "  run carry [\"$d\"] command \"GPU_TIME_LEFT=LEFT bash scripts/gpu_pending.sh\" timeout_s min(540, LEFT - 30)"
	else
		echo "  run carry [\"$d\"] command \"true\""
	fi
done
echo "  give_back"
