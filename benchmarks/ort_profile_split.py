#!/usr/bin/env python3
"""Splits ONNX Runtime profiles (TGAN_ORT_PROFILE, one JSON file per session)
into weight GEMMs, attention and the rest, per run, and prints the ratio bound
that follows: how fast one file could get against another if everything but
its GEMMs were free.

Why: on CPU the weight GEMMs of a generator are the same work in tgan's file
and in the torch.onnx.export file (same shapes, same MLAS kernel), so they cap
the throughput ratio any attention rewrite can reach (issue 12).

    TGAN_ORT_PROFILE=/tmp/prof/p TGAN_FUSED_BENCH=/tmp/fused-bench \
        go test -run '^$' -bench VsTorchExport -benchtime 3x ./onnx/fused/
    python3 benchmarks/ort_profile_split.py /tmp/prof/p_*.json

A profile's first run (the warm-up) is left out. Attention is every node of
MultiHeadAttention, Softmax, FusedMatMul (the scaled Q.K^T) and the MatMuls
whose inputs are both activations (the torch export's Q.K^T and P.V); a
"weight GEMM" is a Gemm, or a MatMul with an initializer operand (the
profile's parameter_size > 0 or a 2-D weight-shaped name), told apart by the
node name: torch export's weight MatMuls are named after their Linear module
(qkv, proj, fc1, fc2, l1).
"""
import collections
import json
import sys

ATTENTION_OPS = {"MultiHeadAttention", "Softmax", "FusedMatMul"}
LINEAR_NAMES = ("qkv", "proj", "fc1", "fc2", "/l1/", "Gemm")


def kind(op, name):
    if op in ATTENTION_OPS:
        return "attention"
    if op == "Gemm":
        return "gemm"
    if op == "MatMul":
        return "gemm" if any(s in name for s in LINEAR_NAMES) else "attention"
    return "rest"


def split(path):
    events = json.load(open(path))
    runs = [e for e in events if e.get("name") == "model_run"]
    if len(runs) < 2:
        raise SystemExit(f"{path}: fewer than 2 runs")
    first_end = runs[0]["ts"] + runs[0]["dur"]
    totals = collections.Counter()
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        if e["ts"] < first_end:
            continue
        totals[kind(e["args"].get("op_name", ""), e["name"])] += e["dur"]
    n = len(runs) - 1
    ms = {k: v / n / 1000 for k, v in totals.items()}
    ms["run"] = sum(r["dur"] for r in runs[1:]) / n / 1000
    return ms


def main():
    rows = [(p, split(p)) for p in sys.argv[1:]]
    print(f"{'profile':48s} {'run ms':>8s} {'gemm':>8s} {'attn':>8s} {'rest':>8s}")
    for p, ms in rows:
        print(f"{p[-48:]:48s} {ms['run']:8.1f} {ms.get('gemm', 0):8.1f} "
              f"{ms.get('attention', 0):8.1f} {ms.get('rest', 0):8.1f}")


if __name__ == "__main__":
    main()
