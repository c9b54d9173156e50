"""Time ONE official training iteration of a zoo model (final-stl, celeba-hq-256,
church-256) in PyTorch eager with the reference modules of transgan_ref_hires.py, as the
anchor for `tgan train` in BENCHMARKS.md ("Model zoo"; benchmarks/zoo_bench.sh).

  /usr/bin/python3 testdata/ref/bench_train_torch_hires.py --preset celeba-hq-256 --batch 2

The iteration is the recipe's pieces, as bench_train_torch.py: a D step (real and fake
logits, the WGAN-GP-eps penalty by double backprop, drift 1e-3, Adam, clip to norm 5), a G
step (-D(G(z)).mean(), Adam, clip 5) and the EMA update of a copy of G (the official
gen_avg); n_critic 1, D and G batch equal, no DiffAugment. Attention noise is drawn by
torch.randn as in the official code. Weights: PyTorch's default initialisation (speed does
not depend on the values). --width F divides g_dim and d_dim by F (same structure) for a
machine where the full size would not fit; --config FILE.json takes any config (JSON is
also YAML, so `tgan train --config FILE.json` reads the same file). Prints seconds for the timed iterations (after
--warmup untimed ones; default 0: one cold iteration, as `tgan train --steps 1`) and
the peak RSS of the process (ru_maxrss).
"""
import argparse, copy, json, os, resource, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref_hires as ref  # noqa: E402

# tgan's presets (model/presets.go), as `model.Preset(name)` marshals them.
PRESETS = {
    "celeba-hq-256": dict(version="final", latent_dim=512, g_dim=1024, bottom_width=8,
                          g_depths=[0, 4, 4, 4, 4, 4], g_heads=4, mlp_ratio=4, image_size=256,
                          g_rel_pos=False, g_arch="celeba256", g_norm="pn",
                          g_windows=[8, 16, 32, 16, 16, 16], d_kind="celeba256", d_dim=384,
                          d_depth=3, d_patch=2, d_heads=4, d_rel_pos=False, d_window=4,
                          d_filter_bank=True),
    "church-256": dict(version="final", latent_dim=512, g_dim=1024, bottom_width=8,
                       g_depths=[5, 4, 4, 4, 4, 4], g_heads=4, mlp_ratio=4, image_size=256,
                       g_rel_pos=False, g_arch="church256", g_norm="pn",
                       g_windows=[8, 16, 32, 16, 16, 16], d_kind="scale3", d_dim=384, d_depth=3,
                       d_patch=4, d_heads=4, d_rel_pos=True, d_window=16),
    "final-stl": dict(version="final", latent_dim=512, g_dim=1024, bottom_width=12,
                      g_depths=[7, 5, 3], g_heads=4, mlp_ratio=4, image_size=48, g_rel_pos=True,
                      g_norm="pn", d_kind="scale2", d_dim=384, d_depth=3, d_patch=2, d_heads=4,
                      d_rel_pos=True, d_norm="pn"),
}


def config(preset, width):
    cfg = dict(PRESETS[preset])
    cfg["g_dim"] //= width
    cfg["d_dim"] //= width
    return cfg


def iteration(G, D, G_ema, optG, optD, B, latent, size, beta=0.999):
    x = torch.rand(B, 3, size, size) * 2 - 1
    with torch.no_grad():
        fake = G(torch.randn(B, latent))
    d_real, d_fake = D(x), D(fake)
    a = torch.rand(B, 1, 1, 1)
    xhat = (a * x + (1 - a) * fake).requires_grad_(True)
    g, = torch.autograd.grad(D(xhat).sum(), xhat, create_graph=True)
    gp = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    loss = -d_real.mean() + d_fake.mean() + 10 * gp + 1e-3 * d_real.mean() ** 2
    optD.zero_grad(); loss.backward()
    torch.nn.utils.clip_grad_norm_(D.parameters(), 5.0); optD.step()
    loss_g = -D(G(torch.randn(B, latent))).mean()
    optG.zero_grad(); loss_g.backward()
    torch.nn.utils.clip_grad_norm_(G.parameters(), 5.0); optG.step()
    with torch.no_grad():
        for pe, p in zip(G_ema.parameters(), G.parameters()):
            pe.mul_(beta).add_(p, alpha=1 - beta)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="celeba-hq-256", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--width", type=int, default=1, help="divide g_dim and d_dim by this")
    ap.add_argument("--config", help="a model config JSON file (tgan's fields) instead of --preset")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.config:
        with open(a.config) as f:
            cfg = json.load(f)
        a.preset = os.path.basename(a.config)
    else:
        cfg = config(a.preset, a.width)
    G, D = ref.build(cfg)
    G_ema = copy.deepcopy(G)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0, 0.99))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0, 0.99))
    args = (G, D, G_ema, optG, optD, a.batch, cfg["latent_dim"], cfg["image_size"])
    for _ in range(a.warmup):
        iteration(*args)
    start = time.perf_counter()
    for _ in range(a.iters):
        iteration(*args)
    sec = (time.perf_counter() - start) / a.iters
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    npar = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    print(f"preset {a.preset} width/{a.width} pytorch {torch.__version__} batch {a.batch}: "
          f"{sec:.3f} s/iter, peak RSS {rss:.2f} GiB (G {npar(G)/1e6:.1f}M, D {npar(D)/1e6:.1f}M params)")


if __name__ == "__main__":
    main()
