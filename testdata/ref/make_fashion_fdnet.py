"""make_fashion_fdnet.py: a small Fashion-MNIST classifier as a feature network for FD.

The demo model makes 16x16 Fashion-MNIST garments; Inception-v3 cannot be downloaded here,
so this script trains a small CNN on the 60k training images (brought to 16x16) and exports
it in the shape `tgan stats --inception` / `tgan train --eval-net` take:

    input  images  float32 [B, 3, 16, 16], grey replicated to RGB, in [-1, 1]
    output pool    float32 [B, 64]   penultimate features (FD, KID)
    output logits  float32 [B, 10]   (IS on the 10 classes)

Its FD numbers are on their own scale: compare them only with each other. The committed
fashion16-fdnet.onnx (2 epochs, 88.8% on the 10k test images at 16x16) puts the 10k test
images at FD 0.007 from the 60k training images (tgan stats --dataset fashion-mnist
--image-size 16 for both).

    /usr/bin/python3 testdata/ref/make_fashion_fdnet.py --out testdata/ref/fashion16-fdnet.onnx
"""
import argparse
import gzip

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def load(split, size):
    with gzip.open(f"{DATA}/{split}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{split}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    x = torch.from_numpy(x.astype(np.float32) / 127.5 - 1)
    if size != 28:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.repeat(1, 3, 1, 1), torch.from_numpy(y.astype(np.int64))


class Net(nn.Module):
    def __init__(self):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
                                 nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

        self.f = nn.Sequential(block(3, 16), nn.MaxPool2d(2), block(16, 32), nn.MaxPool2d(2),
                               block(32, 64))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        pool = self.f(x).mean(dim=(2, 3))
        return pool, self.fc(pool)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    xtr, ytr = load("train", a.size)
    xte, yte = load("t10k", a.size)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    steps = a.epochs * (len(xtr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr) - 127, 128):
            idx = perm[i:i + 128]
            x = xtr[idx]
            flip = torch.rand(len(x)) < 0.5
            x[flip] = x[flip].flip(3)
            loss = F.cross_entropy(net(x)[1], ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            acc = sum((net(xte[i:i + 500])[1].argmax(1) == yte[i:i + 500]).sum().item()
                      for i in range(0, len(xte), 500)) / len(xte)
        print(f"epoch {ep + 1}: loss {loss.item():.3f}, test accuracy {acc:.4f}", flush=True)
    torch.onnx.export(net, torch.zeros(1, 3, a.size, a.size), a.out, input_names=["images"],
                      output_names=["pool", "logits"], opset_version=17,
                      dynamic_axes={"images": {0: "B"}, "pool": {0: "B"}, "logits": {0: "B"}})
    print(f"wrote {a.out} (test accuracy {acc:.4f})")


if __name__ == "__main__":
    main()
