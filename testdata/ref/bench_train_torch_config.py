"""bench_train_torch.py for any model config FILE.yaml (for example
/work/shared/configs/cifar16.yaml, 16x16): one official iteration in PyTorch
eager (D step with the WGAN-GP-eps penalty by double backprop, then a G step;
n_critic 1, D and G batch equal, Adam, clipping to norm 5) with the
reference modules. The anchor of benchmarks/train_executors.sh
(BENCHMARKS.md, "Training executors"); run it under /usr/bin/time -v for the
peak RSS:

  /usr/bin/time -v /usr/bin/python3 testdata/ref/bench_train_torch_config.py \\
      --config ../shared/configs/cifar16.yaml --batch 32
"""
import argparse, os, sys, time
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref  # noqa: E402


def iteration(G, D, optG, optD, B, latent, size):
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    G, D = transgan_ref.build(cfg)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0, 0.99))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0, 0.99))
    size = cfg["image_size"]
    iteration(G, D, optG, optD, a.batch, cfg["latent_dim"], size)  # warm-up
    start = time.perf_counter()
    for _ in range(a.iters):
        iteration(G, D, optG, optD, a.batch, cfg["latent_dim"], size)
    sec = (time.perf_counter() - start) / a.iters
    print(f"config {os.path.basename(a.config)} pytorch {torch.__version__} batch {a.batch}: {sec:.3f} s/iter")


if __name__ == "__main__":
    main()
