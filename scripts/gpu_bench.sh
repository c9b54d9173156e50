#!/usr/bin/env bash
# Superseded by scripts/gpu_pending.sh, which assembles ONNX Runtime's CUDA build itself: this
# script sources .gpu/part-bin/assemble.sh from an older preparation (not in the repository),
# and is kept as the record of the 2026-11-26 device run in BENCHMARKS.md.
# gpu_bench.sh: the prepared device command for issue 7's fp16 export: ONNX Runtime
# CUDA throughput of the fp32 and the --fp16 export of presets s and final-cifar, the
# fp16 output's error against the fp32 export on the CPU provider, a PyTorch fp16
# anchor, and an ONNX Runtime profile of preset s (which provider and which fused
# kernel every node got). Budget: under 4 minutes of device time; each step has a
# timeout and the steps after a 200 s deadline are skipped.
#
# Here, before the device calls (see GPU.md in the team's shared folder):
#   go build -tags noblas -o .gpu/part-bin/tgan-gpu ./cmd/tgan     # must know --fp16
#   (.gpu/part-core and part-1..4 from ../shared/gpu/prepare.sh, carried first)
# On the device, the last call:
#   run  carry [".gpu/part-bin"]  command "bash scripts/gpu_bench.sh"  timeout_s 300
# Writes $OUT/bench.jsonl (tgan bench --json lines: "model" ends in " fp16" and
# "precision" is "fp16" for the float16 export; "rel_err_vs_cpu" of an fp16 line is
# against the fp32 export of the same weights on the CPU provider), $OUT/gpu_bench.log
# and $OUT/profile_summary.txt.
set -uo pipefail
: "${OUT:?OUT is not set: run this through the device tool}"
exec > >(tee -a "$OUT/gpu_bench.log") 2>&1
source .gpu/part-bin/assemble.sh || { echo "assemble/on-device failed"; exit 1; }
B=./.gpu/part-bin/tgan-gpu
J=$OUT/bench.jsonl
if ! $B bench --help 2>&1 | grep -- '--fp16' >/dev/null; then
	echo "$B has no --fp16: rebuild it (go build -tags noblas -o .gpu/part-bin/tgan-gpu ./cmd/tgan)"
	exit 1
fi
start=$SECONDS
deadline=200
# step NAME TIMEOUT CMD...: run CMD unless the deadline has passed.
step() {
	local name=$1 limit=$2
	shift 2
	local t=$((SECONDS - start))
	if [ "$t" -ge "$deadline" ]; then
		echo "== [${t}s] SKIPPED (deadline) $name"
		return
	fi
	echo "== [${t}s] $name"
	timeout "$limit" "$@" || echo "!! $name: exit $?"
}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

for p in s final-cifar; do
	step "$p fp32 cuda" 45 $B bench --preset $p --provider cuda --batches 1,32,256 --iters 10 --json $J
	step "$p fp16 cuda, rel err vs fp32 cpu" 60 $B bench --preset $p --provider cuda --fp16 --batches 1,32 --iters 10 --compare-cpu --json $J
	step "$p fp16 cuda batch 256" 45 $B bench --preset $p --provider cuda --fp16 --batches 256 --iters 10 --json $J
done

# PyTorch eager in fp16 (G.half()), the anchor for the fp16 numbers; fp32 eager and
# torch.compile are in BENCHMARKS.md (same card kind, 2026-11-26).
step "pytorch eager fp16" 60 python3 - "$J" <<'EOF'
import json, sys, time, torch
sys.path.insert(0, "testdata/ref")
import bench_torch, transgan_ref
for p in ["s", "final-cifar"]:
    cfg = dict(bench_torch.PRESETS[p], image_size=32, d_kind="vit", d_dim=384, d_depth=1, d_patch=4)
    G, _ = transgan_ref.build(cfg)
    G = G.to("cuda").eval()
    for b in [32, 256]:
        z = torch.randn(b, cfg["latent_dim"], device="cuda")
        try:  # the whole model in float16, like tgan's --fp16 export
            G16 = G.half()
            with torch.no_grad():
                sec = bench_torch.timed(lambda x: G16(x, None), z.half(), 10, torch.cuda.synchronize)
            mode = "eager fp16"
        except Exception as e:  # fall back to autocast (LayerNorm/softmax in fp32)
            print(f"{p} .half() failed ({e}); using autocast", flush=True)
            G = G.float()
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16):
                sec = bench_torch.timed(lambda x: G(x, None), z, 10, torch.cuda.synchronize)
            mode = "eager autocast-fp16"
        r = dict(model=f"preset {p} fp16", backend=f"pytorch {torch.__version__} {mode} cuda",
                 batch=b, seconds_per_batch=sec, images_per_second=b / sec, precision="fp16")
        print(f"{r['model']:28s} {r['backend']:40s} batch {b:4d}  {sec:9.4f} s/batch  {b/sec:9.1f} img/s", flush=True)
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps(r) + "\n")
EOF

# One profiled run each of s fp32 and fp16 at batch 32 (TGAN_ORT_PROFILE, see
# runtime.ProfileEnv). The CUDA provider's node times are host-side (launch) times in
# a release build, so the summary reports what is reliable: the provider each node
# ran on (a CPU fallback inside a CUDA graph means copies) and the fused operators.
mkdir -p /tmp/gpuprof
step "profile s fp32" 45 env TGAN_ORT_PROFILE=/tmp/gpuprof/s-fp32 $B bench --preset s --provider cuda --batches 32 --iters 2
step "profile s fp16" 45 env TGAN_ORT_PROFILE=/tmp/gpuprof/s-fp16 $B bench --preset s --provider cuda --fp16 --batches 32 --iters 2
step "profile summary" 30 python3 - "$OUT/profile_summary.txt" <<'EOF'
import collections, glob, json, sys
out = open(sys.argv[1], "w")
for path in sorted(glob.glob("/tmp/gpuprof/*.json")):
    events = json.load(open(path))
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    runs = max(1, sum(1 for e in events if e.get("cat") == "Session" and e["name"] == "model_run"))
    by_op = collections.defaultdict(lambda: [0, 0])
    for e in nodes:
        a = e.get("args", {})
        k = (a.get("provider", "?"), a.get("op_name", "?"))
        by_op[k][0] += 1
        by_op[k][1] += e["dur"]
    run_us = [e["dur"] for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]
    print(f"== {path}: {runs} runs, model_run us {run_us}", file=out)
    print(f"{'provider':26s} {'op':28s} {'nodes/run':>9s} {'host us/run':>11s}", file=out)
    for (prov, op), (n, d) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        print(f"{prov:26s} {op:28s} {n / runs:9.1f} {d / runs:11.0f}", file=out)
out.close()
print(open(sys.argv[1]).read())
EOF
echo "== [$((SECONDS - start))s] done"
