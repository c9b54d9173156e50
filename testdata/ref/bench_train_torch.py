"""Time one official training iteration in PyTorch (a D step with the WGAN-GP-eps
penalty by double backprop, then a G step; n_critic 1, D and G batch equal, Adam,
clipping to norm 5) with the reference modules, as the anchor for
`go test -run - -bench Iteration ./trainer` (BENCHMARKS.md).

  /usr/bin/python3 testdata/ref/bench_train_torch.py --preset s --batch 4
  python3 testdata/ref/bench_train_torch.py --preset final-cifar --batch 64 --device cuda --json r.jsonl

D is tgan's preset D (TRAIN_D): the v1 ViT 384 wide and 7 deep, the final two-scale D
384 wide, 3 deep, patch 2. --json appends {"kind": "train", "preset", "backend",
"batch", "seconds_per_iteration", "images_per_second"} where images/s is batch /
seconds per iteration (one D step and one G step, each on `batch` images).
"""
import argparse, json, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref  # noqa: E402
from bench_torch import PRESETS  # noqa: E402


# D of each preset (model/presets.go); image side when it is not 32.
TRAIN_D = {
    "final-cifar": dict(d_kind="scale2", d_dim=384, d_depth=3, d_patch=2),
    "tiny": dict(d_kind="vit", d_dim=64, d_depth=2, d_patch=2, image_size=16),
}


def iteration(G, D, optG, optD, B, latent, size=32, dev="cpu"):
    x = torch.rand(B, 3, size, size, device=dev) * 2 - 1
    with torch.no_grad():
        fake = G(torch.randn(B, latent, device=dev))
    d_real, d_fake = D(x), D(fake)
    a = torch.rand(B, 1, 1, 1, device=dev)
    xhat = (a * x + (1 - a) * fake).requires_grad_(True)
    g, = torch.autograd.grad(D(xhat).sum(), xhat, create_graph=True)
    gp = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    loss = -d_real.mean() + d_fake.mean() + 10 * gp + 1e-3 * d_real.mean() ** 2
    optD.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(D.parameters(), 5.0); optD.step()
    loss_g = -D(G(torch.randn(B, latent, device=dev))).mean()
    optG.zero_grad(); loss_g.backward()
    torch.nn.utils.clip_grad_norm_(G.parameters(), 5.0); optG.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="s", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="append the result as a JSON line")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = dict(PRESETS[a.preset], image_size=32, d_kind="vit", d_dim=384, d_depth=7, d_patch=4)
    cfg.update(TRAIN_D.get(a.preset, {}))
    G, D = transgan_ref.build(cfg)
    G, D = G.to(a.device), D.to(a.device)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0, 0.99))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0, 0.99))
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    args = (G, D, optG, optD, a.batch, cfg["latent_dim"], cfg["image_size"], a.device)
    iteration(*args)  # warm-up
    sync()
    start = time.perf_counter()
    for _ in range(a.iters):
        iteration(*args)
    sync()
    sec = (time.perf_counter() - start) / a.iters
    print(f"preset {a.preset} pytorch {torch.__version__} batch {a.batch}: {sec:.3f} s/iter")
    if a.json:
        r = dict(kind="train", preset=a.preset, backend=f"pytorch {torch.__version__} eager {a.device}",
                 batch=a.batch, seconds_per_iteration=sec, images_per_second=a.batch / sec)
        with open(a.json, "a") as f:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
