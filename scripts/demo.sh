#!/usr/bin/env bash
# demo.sh: the main job end to end on a fresh Debian machine.
#   1. setup (OpenBLAS, Fashion-MNIST from Debian, ONNX Runtime from npm)
#   2. train the `tiny` preset on Fashion-MNIST (Gorgonia graphs run by ONNX Runtime, CPU)
#   3. export G and D to ONNX
#   4. generate a sample grid with ONNX Runtime
# Usage: scripts/demo.sh [STEPS] (default 2250 generator steps: about 11 min on 2 cores from a fresh clone)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
steps=${1:-2250}
start=$(date +%s)
scripts/setup.sh
go build -o tgan ./cmd/tgan
run=runs/demo-fashion
if [ -f "$run/latest" ]; then
	./tgan train --resume "$run" --steps "$steps"
else
	./tgan train --preset tiny --dataset fashion-mnist --out "$run" --steps "$steps" --seed 1 --checkpoint-every 250
fi
./tgan export --onnx "$run/onnx" "$run"
./tgan infer "$run/onnx/generator.onnx" --provider cpu --n 64 --seed 7 --out "$run/samples-onnx.png"
cat <<MSG

demo done in $(($(date +%s) - start)) s; made in $run/:
  samples-onnx.png      64 garments from the EMA generator through ONNX Runtime (look at this)
  samples-*.png         the fixed-z grid at each checkpoint (training progress)
  loss.png              D loss, G loss and the Wasserstein estimate per G step
  metrics.jsonl         every logged number; config.yaml, the run's settings
  onnx/generator.onnx   the exported generator (onnx/discriminator.onnx: D)
  ckpt-*.safetensors    checkpoints (scripts/demo.sh MORE_STEPS resumes)
MSG
