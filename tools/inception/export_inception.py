#!/usr/bin/env python3
"""Export the FID Inception-v3 (pytorch-fid's port of TF's inception-2015-12-05)
to ONNX for `tgan stats` / `tgan eval`.

    pip install torch torchvision pytorch-fid onnx      # onnxruntime too for --check
    python3 export_inception.py --out inception.onnx
    python3 export_inception.py --weights pt_inception-2015-12-05-6726825d.pth --out inception.onnx --check

The network (what tgan feeds, what it returns):

    input   "images"  float32 [B, 3, 299, 299], RGB, values in [0, 1]
                      (tgan: uint8 pixel p -> p/255, bilinear resize to 299 with
                      align_corners=False, exactly pytorch-fid's F.interpolate)
                      With --dynamic-size the input is [B, 3, H, W] and the
                      graph resizes to 299 itself.
    output  "pool"    float32 [B, 2048]  pool_3 features (FID, KID)
    output  "logits"  float32 [B, 1008]  pool @ fc.weight^T, no bias, as the
                      original Inception Score code (and torch-fidelity's
                      "logits_unbiased") take them; --logits-bias adds the bias.

Inside: 2*x - 1 (pytorch-fid's normalize_input), the FID Inception blocks
(FIDInceptionA/C/E_1/E_2 with TF's pooling quirks), global average pool, fc.
Weights: pytorch-fid downloads pt_inception-2015-12-05-6726825d.pth into the
torch hub cache; --weights FILE loads a local copy instead (no network).

--check compares this graph with pytorch_fid.inception.InceptionV3 on random
images (torch), and with ONNX Runtime on the written file when onnxruntime is
installed. The weights cannot be downloaded on tgan's build machines, so this
script is run by users; tgan's own tests use testdata/eval/tiny_inception.onnx.
"""
import argparse
import sys

import torch
import torch.nn.functional as F
from torch import nn

try:
    import pytorch_fid.inception as pfi
except ImportError:  # pragma: no cover - depends on the user's environment
    sys.exit("export_inception.py needs pytorch-fid: pip install pytorch-fid")

FID_SIZE = 299


def load_fid_inception(weights):
    """pytorch-fid's fid_inception_v3(), optionally from a local file."""
    if weights:
        def local(url, *args, **kwargs):
            print("loading %s (instead of %s)" % (weights, url))
            return torch.load(weights, map_location="cpu")
        pfi.load_state_dict_from_url = local  # fid_inception_v3 looks it up here
    net = pfi.fid_inception_v3()
    return net.eval()


class FIDInception(nn.Module):
    """pool_3 features and logits of the FID Inception, input in [0, 1]."""

    def __init__(self, inc, resize, logits_bias):
        super().__init__()
        self.resize = resize
        self.logits_bias = logits_bias
        # The same layers, in the same order, as pytorch_fid.inception.InceptionV3's
        # blocks 0..3 (max pools between the stems, as there).
        self.features = nn.Sequential(
            inc.Conv2d_1a_3x3, inc.Conv2d_2a_3x3, inc.Conv2d_2b_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            inc.Conv2d_3b_1x1, inc.Conv2d_4a_3x3,
            nn.MaxPool2d(kernel_size=3, stride=2),
            inc.Mixed_5b, inc.Mixed_5c, inc.Mixed_5d,
            inc.Mixed_6a, inc.Mixed_6b, inc.Mixed_6c, inc.Mixed_6d, inc.Mixed_6e,
            inc.Mixed_7a, inc.Mixed_7b, inc.Mixed_7c,
        )
        self.fc = inc.fc  # Linear(2048, 1008)

    def forward(self, images):  # images: (B, 3, H, W) in [0, 1]
        x = images
        if self.resize:
            x = F.interpolate(x, size=(FID_SIZE, FID_SIZE), mode="bilinear", align_corners=False)
        x = 2 * x - 1  # (B, 3, 299, 299) in [-1, 1]
        x = self.features(x)  # (B, 2048, 8, 8)
        pool = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)  # (B, 2048)
        logits = pool @ self.fc.weight.t()  # (B, 1008)
        if self.logits_bias:
            logits = logits + self.fc.bias
        return pool, logits


def check(model, path, dynamic):
    """Compare with pytorch-fid's InceptionV3 and, if present, ONNX Runtime."""
    torch.manual_seed(0)
    x = torch.rand(4, 3, FID_SIZE, FID_SIZE)
    ref = pfi.InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True).eval()
    with torch.no_grad():
        want = ref(x)[0].flatten(1)
        pool, logits = model(x)
    err = (pool - want).abs().max().item()
    print("torch: max |pool - pytorch_fid InceptionV3| = %.3g" % err)
    ok = err < 1e-4
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed: ONNX check skipped")
        return ok
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = x if not dynamic else F.interpolate(x, size=(150, 150), mode="bilinear", align_corners=False)
    got_pool, got_logits = sess.run(["pool", "logits"], {"images": feed.numpy()})
    if dynamic:
        with torch.no_grad():
            pool, logits = model(feed)
    e1 = abs(got_pool - pool.numpy()).max()
    e2 = abs(got_logits - logits.numpy()).max()
    print("onnxruntime: max |pool diff| = %.3g, max |logits diff| = %.3g" % (e1, e2))
    return ok and e1 < 1e-3 and e2 < 1e-2


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="inception.onnx", help="ONNX file to write")
    p.add_argument("--weights", help="local pt_inception-2015-12-05-6726825d.pth (default: download)")
    p.add_argument("--dynamic-size", action="store_true",
                   help="input [B,3,H,W] of any size, resized to 299 inside the graph")
    p.add_argument("--logits-bias", action="store_true", help="add fc.bias to the logits")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--check", action="store_true", help="verify against pytorch-fid (and onnxruntime)")
    args = p.parse_args()

    model = FIDInception(load_fid_inception(args.weights), args.dynamic_size, args.logits_bias).eval()
    axes = {"images": {0: "batch"}, "pool": {0: "batch"}, "logits": {0: "batch"}}
    if args.dynamic_size:
        axes["images"].update({2: "height", 3: "width"})
    example = torch.rand(2, 3, FID_SIZE, FID_SIZE)
    with torch.no_grad():
        torch.onnx.export(model, example, args.out, input_names=["images"],
                          output_names=["pool", "logits"], dynamic_axes=axes,
                          opset_version=args.opset, do_constant_folding=True)
    try:
        import onnx
        m = onnx.load(args.out)
        m.producer_name = "tgan tools/inception"
        for key, value in {
            "tgan.inception": "pytorch-fid pt_inception-2015-12-05",
            "tgan.input_range": "0,1",
            "tgan.logits_bias": str(args.logits_bias).lower(),
        }.items():
            prop = m.metadata_props.add()
            prop.key, prop.value = key, value
        onnx.checker.check_model(m)
        onnx.save(m, args.out)
    except ImportError:
        print("onnx not installed: file written without metadata or checking")
    print("wrote", args.out)
    if args.check and not check(model, args.out, args.dynamic_size):
        sys.exit("check failed")


if __name__ == "__main__":
    main()
