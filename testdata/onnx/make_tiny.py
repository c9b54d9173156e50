#!/usr/bin/python3
"""Write the tiny ONNX models that runtime/ tests run.

Run from anywhere with Debian's interpreter (torch 1.13, onnx 1.12):

    /usr/bin/python3 testdata/onnx/make_tiny.py

Outputs, next to this script:
  tiny_gen.onnx           z [batch, 8] -> image [batch, 3, 4, 4]  (Linear, Tanh, Reshape)
                          metadata_props: tgan.config (JSON), tgan.latent_dim = "8"
  tiny_disc.onnx          image [batch, 3, 4, 4] -> logit [batch, 1]
  tiny_int.onnx           tokens int64 [batch, 4] -> scaled float [batch, 4] (wrong-dtype tests)
  tiny_gen.expected.json  a fixed input z [5, 8] and torch's output for it

Weights come from a fixed seed, so reruns give identical files. Go tests read
these files only; they never run Python.
"""
import json
import os

import onnx
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
LATENT = 8
CONFIG = {"name": "tiny", "latent_dim": LATENT, "img_size": 4, "channels": 3}


class TinyGen(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LATENT, 3 * 4 * 4)

    def forward(self, z):  # z: (B, 8)
        return torch.tanh(self.fc(z)).reshape(-1, 3, 4, 4)  # (B, 3, 4, 4)


class TinyDisc(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 4 * 4, 1)

    def forward(self, image):  # image: (B, 3, 4, 4)
        return self.fc(image.reshape(image.shape[0], -1))  # (B, 1)


class TinyInt(nn.Module):
    def forward(self, tokens):  # tokens: (B, 4) int64
        return tokens.float() * 0.5  # (B, 4)


def export(model, example, in_name, out_name, path, metadata=None):
    torch.onnx.export(
        model, example, path,
        input_names=[in_name], output_names=[out_name],
        dynamic_axes={in_name: {0: "batch"}, out_name: {0: "batch"}},
        opset_version=17, do_constant_folding=True,
    )
    m = onnx.load(path)
    m.producer_name = "tgan-testdata"
    for key, value in (metadata or {}).items():
        prop = m.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(m)
    onnx.save(m, path)
    print("wrote", path, os.path.getsize(path), "bytes")


def main():
    torch.manual_seed(1234)
    gen, disc = TinyGen().eval(), TinyDisc().eval()
    meta = {
        "tgan.config": json.dumps(CONFIG, sort_keys=True),
        "tgan.latent_dim": str(LATENT),
    }
    export(gen, torch.zeros(2, LATENT), "z", "image",
           os.path.join(HERE, "tiny_gen.onnx"), meta)
    export(disc, torch.zeros(2, 3, 4, 4), "image", "logit",
           os.path.join(HERE, "tiny_disc.onnx"))
    export(TinyInt(), torch.zeros(2, 4, dtype=torch.int64), "tokens", "scaled",
           os.path.join(HERE, "tiny_int.onnx"))

    # Round inputs to a few decimals so the JSON holds them exactly as float32.
    z = torch.round(torch.randn(5, LATENT) * 1000) / 1000
    with torch.no_grad():
        out = gen(z)
    expected = {
        "input_name": "z",
        "input_shape": list(z.shape),
        "input": [float(v) for v in z.flatten().tolist()],
        "output_name": "image",
        "output_shape": list(out.shape),
        "output": [float(v) for v in out.flatten().tolist()],
    }
    path = os.path.join(HERE, "tiny_gen.expected.json")
    with open(path, "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
