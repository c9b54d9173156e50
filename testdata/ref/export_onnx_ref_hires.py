"""Export the reference G of a zoo preset (transgan_ref_hires.py) with torch.onnx.export,
the yardstick of `tgan bench --preset P` on ONNX Runtime (BENCHMARKS.md, "Model zoo";
benchmarks/zoo_bench.sh runs it in a plain session, benchmarks/plainort).

  /usr/bin/python3 testdata/ref/export_onnx_ref_hires.py --preset celeba-hq-256 --out /tmp/z/G.onnx

Writes one file: input `z` [B, latent], output `image` [B, 3, H, W], opset 17, batch
fixed at --batch (the attention-noise draws are torch.randn calls of the official code,
which the exporter records as RandomNormal nodes of the traced shape). Weights: PyTorch's
default initialisation (speed does not depend on the values); --width divides g_dim as
bench_train_torch_hires.py does.
"""
import argparse, os, sys
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref_hires as ref  # noqa: E402
from bench_train_torch_hires import PRESETS, config  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--width", type=int, default=1)
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = config(a.preset, a.width)
    G, _ = ref.build(cfg)
    G.eval()
    z = torch.randn(a.batch, cfg["latent_dim"])
    with torch.no_grad():
        torch.onnx.export(G, (z,), a.out, opset_version=17, input_names=["z"],
                          output_names=["image"])
    import onnx
    m = onnx.load(a.out, load_external_data=False)
    ops = sorted({n.op_type for n in m.graph.node})
    print("%s: %.1f MB, %d nodes, ops %s" % (a.out, os.path.getsize(a.out) / 1e6,
                                            len(m.graph.node), " ".join(ops)))


if __name__ == "__main__":
    main()
