"""Export the reference G and D (transgan_ref.py) to ONNX, for benchmarking ONNX Runtime
on a PyTorch export against tgan's own exporter.

  /usr/bin/python3 testdata/ref/export_onnx_ref.py --case v1-s --out /tmp/onnx-v1-s
  /usr/bin/python3 testdata/ref/export_onnx_ref.py --case final_small --out /tmp/o \\
      --ckpt testdata/golden/final_small/official.pth

Writes G.onnx (input `z` [B,latent], output `image` [B,3,H,W]) and D.onnx (input `image`
[B,3,H,W], output `logit` [B,1]), opset 17, dynamic batch axis, plus z.npy/g.npy and
image.npy/d.npy (batch 2) computed by PyTorch, to check an ONNX runtime's outputs.
Weights: from --ckpt (avg_gen_state_dict / dis_state_dict, or a bare G state_dict), else
randomised as make_golden.py does.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402
import transgan_ref as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, help="case name (see make_golden.py)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--ckpt", help="official-format .pth to take the weights from")
    ap.add_argument("--drop-zero-noise", action="store_true",
                    help="leave the D attention noise out of the graph where its strength is 0")
    a = ap.parse_args()
    allc = dict(mg.SMALL, **mg.FULL)
    c, seed, _ = allc[a.case]
    os.makedirs(a.out, exist_ok=True)
    G, D = ref.build(c)
    has_d = True
    if a.ckpt:
        ck = torch.load(a.ckpt, map_location="cpu")
        gsd = ck.get("avg_gen_state_dict", ck)
        G.load_state_dict(mg.strip(gsd), strict=True)
        if "dis_state_dict" in ck:
            D.load_state_dict(mg.strip(ck["dis_state_dict"]), strict=True)
        else:
            has_d = False
    else:
        gen = torch.Generator().manual_seed(seed)
        mg.randomise(G, gen)
        mg.randomise(D, gen)
    G.eval()
    D.eval()
    for m in D.modules():
        if isinstance(m, ref.Attention):
            m.skip_zero_noise = a.drop_zero_noise

    torch.manual_seed(0)
    z = torch.randn(2, c["latent_dim"])
    H = c["image_size"]
    img = torch.rand(2, 3, H, H) * 2 - 1
    with torch.no_grad():
        torch.onnx.export(G, (z,), os.path.join(a.out, "G.onnx"), opset_version=17,
                          input_names=["z"], output_names=["image"],
                          dynamic_axes={"z": {0: "batch"}, "image": {0: "batch"}})
        mg.save_npy(os.path.join(a.out, "z.npy"), z.numpy())
        mg.save_npy(os.path.join(a.out, "g.npy"), G(z).numpy())
        if has_d:
            torch.onnx.export(D, (img,), os.path.join(a.out, "D.onnx"), opset_version=17,
                              input_names=["image"], output_names=["logit"],
                              dynamic_axes={"image": {0: "batch"}, "logit": {0: "batch"}})
            mg.save_npy(os.path.join(a.out, "image.npy"), img.numpy())
            torch.manual_seed(1)
            mg.save_npy(os.path.join(a.out, "d.npy"), D(img).numpy())

    import onnx
    for f in ("G.onnx", "D.onnx") if has_d else ("G.onnx",):
        path = os.path.join(a.out, f)
        onnx.checker.check_model(path)
        mdl = onnx.load(path)
        ops = sorted({n.op_type for n in mdl.graph.node})
        print("%s: %.1f MB, %d nodes, ops %s" % (path, os.path.getsize(path) / 1e6,
                                                len(mdl.graph.node), " ".join(ops)))


if __name__ == "__main__":
    main()
