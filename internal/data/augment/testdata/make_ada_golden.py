"""Writes the hue/filter goldens of internal/data/augment (ada_golden_test.go).

An independent PyTorch rendering of SPEC-hires 5.5 in StyleGAN2-ADA's
structure (4x4 homogeneous colour matrix from rotate3d; filter bank from
the sym2 wavelet; reflect padding and two grouped conv2d passes), applied
to fixed angles and band gains so that Go can feed the same draws.
Run: /usr/bin/python3 make_ada_golden.py (torch 1.13 wrote the files).
"""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.RandomState(5)
B, C, H, W = 3, 3, 24, 26
x = torch.from_numpy(rng.randn(B, C, H, W).astype(np.float32))
theta = torch.tensor([0.7, -2.5, 0.0], dtype=torch.float32)
gain = torch.tensor([[1.0, 1.0, 1.0, 1.0],
                     [0.6, 2.1, 0.9, 1.3],
                     [1.2, 0.3, 1.7, 0.5]], dtype=torch.float32)

# hue: images = C[:, :3, :3] @ images + C[:, :3, 3:], C = rotate3d(v, theta)
v = torch.tensor([1, 1, 1, 0], dtype=torch.float32) / np.sqrt(3)
vx, vy, vz = v[0], v[1], v[2]
s, c = torch.sin(theta), torch.cos(theta)
cc = 1 - c
z, o = torch.zeros_like(theta), torch.ones_like(theta)
M = torch.stack([
    torch.stack([vx*vx*cc+c, vx*vy*cc-vz*s, vx*vz*cc+vy*s, z], -1),
    torch.stack([vy*vx*cc+vz*s, vy*vy*cc+c, vy*vz*cc-vx*s, z], -1),
    torch.stack([vz*vx*cc-vy*s, vz*vy*cc+vx*s, vz*vz*cc+c, z], -1),
    torch.stack([z, z, z, o], -1)], 1)
hue = (M[:, :3, :3] @ x.reshape(B, C, H * W) + M[:, :3, 3:]).reshape(B, C, H, W)

# filter bank (sym2), built row by row as ADA does
h_lo = np.array([-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025])
h_hi = h_lo * ((-1) ** np.arange(h_lo.size))
lo2 = np.convolve(h_lo, h_lo[::-1]) / 2
hi2 = np.convolve(h_hi, h_hi[::-1]) / 2
fb = np.eye(4, 1)
for i in range(1, 4):
    fb = np.dstack([fb, np.zeros_like(fb)]).reshape(4, -1)[:, :-1]
    fb = np.stack([np.convolve(row, lo2) for row in fb])
    start = (fb.shape[1] - hi2.size) // 2
    fb[i, start:start + hi2.size] += hi2
fbank = torch.from_numpy(fb.astype(np.float32))  # [4, 43]

k = (gain.unsqueeze(2) * fbank).sum(1, keepdim=True).expand(B, C, -1)  # [B, C, 43]
p = fbank.shape[1] // 2
y = F.pad(x.reshape(1, B * C, H, W), [p, p, p, p], mode="reflect")
y = F.conv2d(y, k.reshape(B * C, 1, 1, -1), groups=B * C)
y = F.conv2d(y, k.reshape(B * C, 1, -1, 1), groups=B * C)
filt = y.reshape(B, C, H, W)

for name, a in [("x", x), ("theta", theta), ("gain", gain), ("hue", hue), ("filter", filt), ("fbank", fbank)]:
    np.save("ada_" + name + ".npy", a.numpy().astype(np.float32))
