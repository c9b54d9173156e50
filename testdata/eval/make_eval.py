#!/usr/bin/python3
"""Write the tiny feature network, inputs and golden metrics for the
`tgan stats` / `tgan eval` tests (cmd/tgan/eval_test.go, internal/eval/metrics).

Run with Debian's interpreter (torch 1.13, onnx 1.12, numpy, scipy):

    /usr/bin/python3 testdata/eval/make_eval.py

Outputs, next to this script (weights and data from fixed seeds, so reruns
give identical files; Go tests never run Python):

  tiny_inception.onnx  images [B, 3, 16, 16] in [0, 1] -> pool [B, 8], logits [B, 10]
                       (scales to [-1, 1] inside, like pytorch-fid's InceptionV3)
  tiny_gen.onnx        z [B, 8] -> image [B, 3, 8, 8] in about [-1.2, 1.2], with
                       tgan.config / tgan.network metadata (engine.Open runs it)
  z.npy                float32 [50, 8] latents, chosen so that no generated
                       value lies within 1e-3 of a uint8 truncation boundary
                       (ONNX Runtime and torch differ in the last bits)
  data.bin             60 random 32x32 RGB images in CIFAR-10 binary format
  expected.json        features, statistics, FID, KID, IS, all computed here
                       with torch (features) and numpy/scipy (metrics)

The protocol reproduced (what tgan does, internal/eval/metrics):
  generator output x -> uint8(clamp(float32(x*127.5) + 127.5, 0, 255)), truncated
  uint8 p -> float32 p/255 -> F.interpolate(size 16, bilinear,
  align_corners=False) -> network.
KID subsets come from splitmix64 + a partial Fisher-Yates shuffle
(metrics.SubsetIndices), reimplemented below.
"""
import json
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
LATENT, GEN_SIZE, NET_SIZE = 8, 8, 16
N_GEN, N_DATA = 50, 60
M64 = 2**64

# A valid tgan config for an 8x8, latent-8 generator (only latent_dim and
# image_size matter to engine's ONNX path; the rest must validate).
CONFIG = {
    "version": "v1", "latent_dim": LATENT, "g_dim": 16, "bottom_width": 8,
    "g_depths": [1], "g_heads": 4, "mlp_ratio": 4, "image_size": GEN_SIZE,
    "d_kind": "vit", "d_dim": 16, "d_depth": 1, "d_patch": 4, "d_heads": 4,
}


class TinyInception(nn.Module):
    """Two strided convolutions, global average pool, linear classifier."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 10)
        for layer, std in ((self.conv1, 0.6), (self.conv2, 0.5), (self.fc, 2.0)):
            nn.init.normal_(layer.weight, std=std)
            nn.init.normal_(layer.bias, std=0.2)

    def forward(self, images):  # images: (B, 3, 16, 16) in [0, 1]
        x = 2 * images - 1
        x = F.relu(self.conv1(x))  # (B, 6, 8, 8)
        x = F.relu(self.conv2(x))  # (B, 8, 4, 4)
        pool = x.mean(dim=(2, 3))  # (B, 8)
        return pool, self.fc(pool)  # (B, 8), (B, 10)


class TinyGen(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LATENT, 3 * GEN_SIZE * GEN_SIZE)

    def forward(self, z):  # z: (B, 8)
        return 1.2 * torch.tanh(2 * self.fc(z)).reshape(-1, 3, GEN_SIZE, GEN_SIZE)


def export(model, example, in_name, out_names, path, metadata=None):
    axes = {in_name: {0: "batch"}}
    axes.update({o: {0: "batch"} for o in out_names})
    torch.onnx.export(model, example, path, input_names=[in_name], output_names=out_names,
                      dynamic_axes=axes, opset_version=17, do_constant_folding=True)
    m = onnx.load(path)
    m.producer_name = "tgan-testdata"
    for key, value in (metadata or {}).items():
        prop = m.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.checker.check_model(m)
    onnx.save(m, path)
    print("wrote", path, os.path.getsize(path), "bytes")


def to_uint8(x):
    """imageio.ToUint8 in float32: truncation, not rounding."""
    v = (x.astype(np.float32) * np.float32(127.5)).astype(np.float32) + np.float32(127.5)
    return np.clip(v, 0, 255).astype(np.uint8), v


def features(net, pix):
    """uint8 (N, 3, S, S) -> pool, logits as float32, the tgan protocol."""
    x = torch.from_numpy(pix).float() / 255
    if x.shape[-1] != NET_SIZE:
        x = F.interpolate(x, size=(NET_SIZE, NET_SIZE), mode="bilinear", align_corners=False)
    with torch.no_grad():
        pool, logits = net(x)
    return pool.numpy(), logits.numpy()


def stats(f):
    f = f.astype(np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def fid(mu1, s1, mu2, s2):
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


class SplitMix64:
    def __init__(self, seed):
        self.s = seed % M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) % M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % M64
        return z ^ (z >> 31)


def subset(rng, n, m):
    idx = list(range(n))
    for i in range(m):
        j = i + rng.next() % (n - i)
        idx[i], idx[j] = idx[j], idx[i]
    return idx[:m]


def kid(a, b, subsets, size, seed):
    """torch-fidelity's unbiased MMD^2, cubic kernel, over subsets."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    d = a.shape[1]
    m = min(size, len(a), len(b))
    rng = SplitMix64(seed)
    k = lambda x, y: (x @ y.T / d + 1) ** 3
    mmds = []
    for _ in range(subsets):
        x = a[subset(rng, len(a), m)]
        y = b[subset(rng, len(b), m)]
        kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
        mmd = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        mmds.append(mmd - 2 * kxy.sum() / (m * m))
    return float(np.mean(mmds)), float(np.std(mmds))


def inception_score(logits, splits):
    l = logits.astype(np.float64)
    p = np.exp(l - l.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n, scores = len(p), []
    for k in range(splits):
        part = p[k * n // splits:(k + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        scores.append(np.exp((part * (np.log(part) - np.log(py))).sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def main():
    torch.manual_seed(2024)
    net, gen = TinyInception().eval(), TinyGen().eval()
    export(net, torch.zeros(2, 3, NET_SIZE, NET_SIZE), "images", ["pool", "logits"],
           os.path.join(HERE, "tiny_inception.onnx"))
    export(gen, torch.zeros(2, LATENT), "z", ["image"], os.path.join(HERE, "tiny_gen.onnx"),
           {"tgan.config": json.dumps(CONFIG, sort_keys=True), "tgan.network": "generator"})

    # Latents whose images have every value at least 1e-3 from a boundary.
    rs = np.random.RandomState(7)
    z = np.zeros((N_GEN, LATENT), np.float32)
    for i in range(N_GEN):
        while True:
            zi = rs.randn(1, LATENT).astype(np.float32)
            with torch.no_grad():
                x = gen(torch.from_numpy(zi)).numpy()
            _, v = to_uint8(x)
            inside = (v > 0) & (v < 255)
            if np.all(np.abs(v[inside] - np.round(v[inside])) > 1e-3):
                z[i] = zi[0]
                break
    np.save(os.path.join(HERE, "z.npy"), z)
    with torch.no_grad():
        gen_pix, _ = to_uint8(gen(torch.from_numpy(z)).numpy())

    # The dataset: smooth random images (a coarse grid upsampled), CIFAR format.
    coarse = rs.randint(0, 256, size=(N_DATA, 3, 4, 4)).astype(np.float32)
    smooth = F.interpolate(torch.from_numpy(coarse), size=(32, 32), mode="bilinear",
                           align_corners=False).numpy()
    noise = rs.randint(-20, 21, size=smooth.shape)
    data_pix = np.clip(np.floor(smooth) + noise, 0, 255).astype(np.uint8)
    labels = rs.randint(0, 10, size=N_DATA).astype(np.uint8)
    with open(os.path.join(HERE, "data.bin"), "wb") as f:
        for lab, img in zip(labels, data_pix):
            f.write(bytes([lab]) + img.tobytes())

    gpool, glogits = features(net, gen_pix)
    dpool, dlogits = features(net, data_pix)
    gmu, gsig = stats(gpool)
    dmu, dsig = stats(dpool)
    kid_default = kid(gpool, dpool, 100, 1000, 0)
    kid_small = kid(gpool, dpool, 7, 20, 3)
    expected = {
        "n_gen": N_GEN, "n_data": N_DATA,
        "gen_pool": gpool.flatten().tolist(), "gen_logits": glogits.flatten().tolist(),
        "data_pool": dpool.flatten().tolist(),
        "gen_mu": gmu.tolist(), "gen_sigma": gsig.flatten().tolist(),
        "data_mu": dmu.tolist(), "data_sigma": dsig.flatten().tolist(),
        "fid": fid(gmu, gsig, dmu, dsig),
        "kid_default": {"subsets": 100, "subset_size": 1000, "seed": 0,
                        "mean": kid_default[0], "std": kid_default[1]},
        "kid_small": {"subsets": 7, "subset_size": 20, "seed": 3,
                      "mean": kid_small[0], "std": kid_small[1]},
        "is_10": dict(zip(["mean", "std"], inception_score(glogits, 10))),
        "is_3": dict(zip(["mean", "std"], inception_score(glogits, 3))),
        "data_is_10": dict(zip(["mean", "std"], inception_score(dlogits, 10))),
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("fid %.6f kid %.6g±%.3g is %.4f±%.3f" % (expected["fid"], *kid_default,
                                                  expected["is_10"]["mean"], expected["is_10"]["std"]))
    print("wrote z.npy, data.bin, expected.json")


if __name__ == "__main__":
    main()
