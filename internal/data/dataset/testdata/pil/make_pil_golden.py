"""Writes the PIL resize goldens of internal/data/dataset (pil_test.go).

Each case is a random RGB image (numpy seed fixed) resized with
PIL.Image.resize((W, H), Image.BILINEAR), which is what torchvision's
Resize runs on a PIL image (Resize(48) of a 96x96 STL-10 image,
Resize((256, 256)) of CelebA-HQ / LSUN files). Files: <name>.in and
<name>.out, raw RGB bytes in PIL's interleaved HWC order; cases.txt lists
name in_w in_h out_w out_h. Run: /usr/bin/python3 make_pil_golden.py
(Pillow 9.4.0 from Debian's python3-pil wrote the committed files).
"""
import numpy as np
from PIL import Image

CASES = [
    ("stl96to48", 96, 96, 48, 48),
    ("down4", 64, 64, 16, 16),
    ("squash61x37", 61, 37, 16, 16),
    ("up10x7", 10, 7, 16, 16),
    ("wide20x16", 20, 16, 16, 16),
]

rng = np.random.RandomState(20261204)
with open("cases.txt", "w") as f:
    for name, w, h, ow, oh in CASES:
        pix = rng.randint(0, 256, size=(h, w, 3), dtype=np.uint8)
        img = Image.fromarray(pix, "RGB")
        out = img.resize((ow, oh), Image.BILINEAR)
        open(name + ".in", "wb").write(pix.tobytes())
        open(name + ".out", "wb").write(out.tobytes())
        f.write("%s %d %d %d %d\n" % (name, w, h, ow, oh))
