"""Small official-format .pth files for the internal/checkpoint/pth tests.

  cd internal/checkpoint/pth && /usr/bin/python3 testdata/make_pth.py

The networks come from the independent PyTorch reference in testdata/ref, at
toy sizes; each file exercises one thing the importer must handle.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "testdata", "ref"))
import transgan_ref as ref  # noqa: E402

torch.manual_seed(7)

FINAL = {"version": "final", "latent_dim": 8, "g_dim": 16, "bottom_width": 2, "g_depths": [1, 1],
         "g_heads": 2, "mlp_ratio": 2, "image_size": 4, "d_kind": "scale2", "d_dim": 16,
         "d_depth": 1, "d_patch": 1, "d_heads": 2}
V1 = {"version": "v1", "latent_dim": 8, "g_dim": 16, "bottom_width": 2, "g_depths": [1, 1],
      "g_heads": 4, "mlp_ratio": 4, "image_size": 4, "d_kind": "vit", "d_dim": 16,
      "d_depth": 2, "d_patch": 2, "d_heads": 4}


def models(cfg):
    g, d = ref.build(cfg)
    with torch.no_grad():
        for p in list(g.parameters()) + list(d.parameters()):
            p.copy_(torch.randn(p.shape))
    return g, d


def pre(sd):
    return {"module." + k: v for k, v in sd.items()}


def out(name):
    return os.path.join(HERE, name)


# tensors.pth: layouts and dtypes for convert().
base = torch.arange(12, dtype=torch.float32)
torch.save({
    "contig": base[:6].view(2, 3),
    "transposed": base[:6].view(2, 3).t(),        # strides (1, 3)
    "offset": base[3:7],                          # storage offset 3, shared storage
    "f64": torch.arange(4, dtype=torch.float64) / 4,
    "f16": torch.arange(4, dtype=torch.float16) / 2,
    "i64": torch.arange(3),
    "param": torch.nn.Parameter(torch.tensor([1.5, -2.0])),
    "scalar": torch.tensor(3.25),
}, out("tensors.pth"))

# variants.pth: a final training dict with naming variants, an unused key, a
# float64 tensor and non-tensor Python objects (numpy scalar, Namespace).
g, d = models(FINAL)
avg, _ = models(FINAL)
gsd = {k.replace(".norm.", "."): v for k, v in g.state_dict().items()}   # norm1.norm.weight -> norm1.weight
dsd = {k.replace("norm.norm.", "norm."): v for k, v in d.state_dict().items()}
dsd["head.weight"] = dsd["head.weight"].double()
gsd["unused_buffer"] = torch.zeros(2)
torch.save({
    "epoch": 7, "gen_model": "ViT_custom_rp", "dis_model": "ViT_custom_scale2_rp_noise",
    "gen_state_dict": pre(gsd), "dis_state_dict": pre(dsd),
    "avg_gen_state_dict": pre(avg.state_dict()),
    "best_fid": np.float64(42.5), "args": argparse.Namespace(lr=1e-4, name="x"),
    "fixed_z": torch.randn(2, 8),
}, out("variants.pth"))

# v1_proj.pth: legacy format, D patch embedding as a module with .proj, a
# non-contiguous l1.weight.
g, d = models(V1)
gsd, dsd = g.state_dict(), d.state_dict()
gsd["l1.weight"] = gsd["l1.weight"].t().contiguous().t()
dsd = {k.replace("patch_embed.", "patch_embed.proj."): v for k, v in dsd.items()}
torch.save({"gen_state_dict": gsd, "dis_state_dict": dsd, "avg_gen_state_dict": gsd},
           out("v1_proj.pth"), _use_new_zipfile_serialization=False)

# Broken files: each must fail with a one-line error naming the key.
g, d = models(FINAL)
gsd = g.state_dict()
gsd["upsample_blocks.0.block.0.attn.proj.weight"] = torch.zeros(4, 3)
torch.save({"gen_state_dict": gsd, "dis_state_dict": d.state_dict()}, out("wrong_shape.pth"))
gsd = g.state_dict()
del gsd["blocks.block.0.mlp.fc2.bias"]
torch.save(gsd, out("missing_key.pth"))
gsd = g.state_dict()
gsd["blocks.block.0.attn.relative_position_index"] = torch.zeros(4, 4, dtype=torch.int64)
torch.save(gsd, out("bad_index.pth"))
torch.save([1, 2, 3], out("list.pth"))
torch.save({"a": 1, "b": "text"}, out("not_tensors.pth"))
