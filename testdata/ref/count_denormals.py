"""Counts denormal float32 values in every intermediate tensor of a v1 generator's forward
(issue 15: is `tgan bench --preset s`, with random weights, slow because of denormals?).

  /usr/bin/python3 testdata/ref/count_denormals.py [--pth official.pth] [--batch 32]

Without --pth the generator gets the official initialisation (what tgan's model.InitWeights
does: truncated normal std 0.02 for Linear weights and position embeddings, zero biases,
LayerNorm 1/0); with --pth (a checkpoint written by make_golden.py, or an official one),
its avg_gen_state_dict. Prints, per op, how many outputs were denormal (0 < |x| < 2^-126).
"""
import argparse
import collections
import json
import os
import sys

import torch
from torch.overrides import TorchFunctionMode

sys.path.insert(0, os.path.dirname(__file__))
import transgan_ref as ref  # noqa: E402

TINY = 2.0 ** -126


class Counter(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.denormal = collections.Counter()
        self.total = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.numel() > 1:
            name = getattr(func, "__name__", str(func))
            a = out.detach().abs()
            self.denormal[name] += int(((a > 0) & (a < TINY)).sum())
            self.total[name] += out.numel()
        return out


def official_init(G):
    for name, p in G.named_parameters():
        if name.endswith("bias"):
            torch.nn.init.zeros_(p)
        elif "norm" in name and name.endswith("weight"):
            torch.nn.init.ones_(p)
        elif p.dim() == 4:
            pass  # convolutions keep PyTorch's default
        else:
            torch.nn.init.trunc_normal_(p, std=0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pth")
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    torch.manual_seed(1)
    cfg = {"version": "v1", "latent_dim": 1024, "g_dim": 384, "bottom_width": 8, "g_depths": [5, 2, 2],
           "image_size": 32, "d_kind": "vit", "d_dim": 384, "d_depth": 7, "d_patch": 4}
    G, _ = ref.build(cfg)
    if args.pth:
        ck = torch.load(args.pth, map_location="cpu")
        sd = ck.get("avg_gen_state_dict", ck)
        G.load_state_dict({k.removeprefix("module."): v for k, v in sd.items()}, strict=True)
    else:
        official_init(G)
    G.eval()
    z = torch.randn(args.batch, 1024)
    c = Counter()
    with torch.no_grad(), c:
        G(z)
    rows = {k: {"denormal": c.denormal[k], "values": c.total[k]} for k in c.total}
    print(json.dumps({"weights": args.pth or "official init", "batch": args.batch,
                      "denormal": sum(c.denormal.values()), "values": sum(c.total.values()),
                      "ops": {k: v for k, v in rows.items() if v["denormal"]}}, indent=1))


if __name__ == "__main__":
    main()
