"""Time the reference G of a zoo preset (transgan_ref_hires.py) forward in PyTorch eager,
the anchor of `tgan bench --backend gorgonia --preset P` (BENCHMARKS.md, "Model zoo";
benchmarks/zoo_bench.sh).

  /usr/bin/python3 testdata/ref/bench_torch_hires.py --preset celeba-hq-256 --batch 1 --iters 2

G in eval mode under torch.no_grad, PyTorch's default initialisation, attention noise
drawn by torch.randn as in the official code; one untimed warm-up forward, then --iters
timed ones. Prints seconds per batch, images/s and the process's peak RSS.
"""
import argparse, os, resource, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref_hires as ref  # noqa: E402
from bench_train_torch_hires import PRESETS, config  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--width", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = config(a.preset, a.width)
    G, _ = ref.build(cfg)
    G.eval()
    z = torch.randn(a.batch, cfg["latent_dim"])
    with torch.no_grad():
        G(z)
        start = time.perf_counter()
        for _ in range(a.iters):
            G(z)
        sec = (time.perf_counter() - start) / a.iters
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    print(f"preset {a.preset} pytorch {torch.__version__} eager cpu batch {a.batch}: {sec:.4f} s/batch, "
          f"{a.batch / sec:.3f} img/s, peak RSS {rss:.2f} GiB")


if __name__ == "__main__":
    main()
