"""Golden files for one training iteration of each SPEC-hires family (tgan's trainer package).

Runs, with the independent reference modules of transgan_ref_hires.py, one iteration of the
official final loop (SPEC-hires 5.1-5.2, acc = g_acc = 1, iteration 0 so both a D and a G
step) on fixed tensors, batch 2:

  D step: fake = G(z).detach() (G draws its attention noise, as in training); D(real), D(fake)
          as two calls; WGAN-GP with per-sample alpha (a third D call, double backprop);
          d_loss = -mean D(real) + mean D(fake) + 10 gp + 1e-3 mean(D(real))^2; clip 5; Adam
          (lr 1e-4, betas (0, 0.99), eps 1e-8).
  G step: g_loss = -mean D(G(zg)) against the updated D (saved as d1.*: Adam's first step,
          lr g/(|g| + 1e-8), turns float32 rounding of near-zero D gradients into weight
          differences up to lr, which move G's gradients by ~1e-4, so the Go test runs its G
          step from these weights); its backward also leaves
          dg_loss/dtheta_D in D's .grad (the leak the next D step adds); clip 5; Adam.

DiffAugment is off (policy None): the reference cannot replay tgan's augmentation draws, and
the augmentation is tested against its own Go/ONNX forms elsewhere. Every attention-noise
draw is recorded, per forward call, in the official layout ([B', N', 1] per noised attention,
window order, call order) so that the Go test replays them.

  /usr/bin/python3 testdata/ref/train_step_ref_hires.py   # writes testdata/golden/train_step_hires/

Configs: the same as zooStepCases in trainer/zoo_test.go (keep them in step); the church G
has no blocks in its one-channel last stage (PixelNorm over one channel is ill-conditioned:
float32 and float64 runs differed by up to 3e-4 in G's gradients).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref_hires as ref  # noqa: E402
from make_golden_hires import randomise  # noqa: E402

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "train_step_hires")
B = 2
CASES = {  # name -> (tgan Config JSON, seed)
    "final_stl": ({"version": "final", "latent_dim": 16, "g_dim": 32, "bottom_width": 2,
                   "g_depths": [1, 1, 1], "g_heads": 2, "mlp_ratio": 4, "image_size": 8,
                   "g_rel_pos": True, "g_norm": "pn", "d_kind": "scale2", "d_dim": 16,
                   "d_depth": 1, "d_patch": 2, "d_heads": 2, "d_rel_pos": True, "d_norm": "pn"},
                  501),
    "final_norp": ({"version": "final", "latent_dim": 16, "g_dim": 32, "bottom_width": 2,
                    "g_depths": [1, 1, 1], "g_heads": 2, "mlp_ratio": 4, "image_size": 8,
                    "g_rel_pos": False, "g_arch": "custom", "d_kind": "scale2", "d_dim": 16,
                    "d_depth": 1, "d_patch": 2, "d_heads": 2, "d_rel_pos": True,
                    "d_no_noise": True}, 502),
    "celeba256": ({"version": "final", "latent_dim": 16, "g_dim": 64, "bottom_width": 1,
                   "g_depths": [0, 1, 1, 1, 1, 1], "g_heads": 1, "mlp_ratio": 4,
                   "image_size": 32, "g_rel_pos": False, "g_arch": "celeba256", "g_norm": "pn",
                   "g_windows": [1, 2, 4, 2, 2, 2], "d_kind": "celeba256", "d_dim": 16,
                   "d_depth": 3, "d_patch": 2, "d_heads": 2, "d_rel_pos": False, "d_window": 2,
                   "d_filter_bank": True}, 503),
    "church256": ({"version": "final", "latent_dim": 16, "g_dim": 64, "bottom_width": 1,
                   "g_depths": [1, 1, 1, 1, 1, 0], "g_heads": 1, "mlp_ratio": 4,
                   "image_size": 32, "g_rel_pos": False, "g_arch": "church256", "g_norm": "pn",
                   "g_windows": [1, 2, 4, 2, 2, 2], "d_kind": "scale3", "d_dim": 16,
                   "d_depth": 3, "d_patch": 2, "d_heads": 2, "d_rel_pos": True, "d_window": 2},
                  504),
}


def arrays(prefix, sd):
    out = {}
    for k, v in sd.items():
        v = v.detach().cpu()
        out[prefix + k] = v.numpy().astype(np.int64 if v.dtype == torch.int64 else np.float32)
    return out


def flat(draws):
    if not draws:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([d.numpy().reshape(-1) for d in draws]).astype(np.float32)


class Recorder:
    """One noise source per forward call, recorded under a name."""

    def __init__(self, gen):
        self.gen = gen
        self.draws = {}

    def use(self, name, *models):
        src = ref.NoiseSource(self.gen)
        src.record = []
        self.draws[name] = src.record
        for m in models:
            ref.set_noise_source(m, src)


def grads(prefix, model):
    return {prefix + n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()
            if p.grad is not None}


def make_case(name, c, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    G, D = ref.build(c)
    randomise(G, gen)
    randomise(D, gen)
    G.train()
    D.train()
    out = {}
    out.update(arrays("g0.", G.state_dict()))
    out.update(arrays("d0.", D.state_dict()))
    S, L = c["image_size"], c["latent_dim"]
    real = torch.rand(B, 3, S, S, generator=gen) * 2 - 1
    z = torch.randn(B, L, generator=gen)
    zg = torch.randn(B, L, generator=gen)
    alpha = torch.rand(B, generator=gen)
    noise = Recorder(torch.Generator().manual_seed(seed + 1))
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.99), eps=1e-8)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.99), eps=1e-8)

    # D step (official order: D(real), G(z), D(fake), penalty)
    noise.use("d_real", D)
    rv = D(real)
    noise.use("g_fake", G)
    fake = G(z).detach()
    noise.use("d_fake", D)
    fv = D(fake)
    a = alpha.view(-1, 1, 1, 1)
    interp = (a * real + (1 - a) * fake).requires_grad_(True)
    noise.use("d_pen", D)
    di = D(interp)
    g = torch.autograd.grad(di, interp, torch.ones_like(di), create_graph=True,
                            retain_graph=True)[0]
    gp = ((g.reshape(B, -1).norm(2, dim=1) - 1) ** 2).mean()
    d_loss = -rv.mean() + fv.mean() + 10 * gp + 1e-3 * rv.mean() ** 2
    optD.zero_grad()
    d_loss.backward()
    dnorm = torch.nn.utils.clip_grad_norm_(D.parameters(), 5.0)
    out.update(grads("dgrad.", D))
    optD.step()
    optD.zero_grad()
    out.update(arrays("d1.", D.state_dict()))

    # G step against the updated D; D's grads after it are the leak
    optG.zero_grad()
    noise.use("g_gen", G)
    gz = G(zg)
    noise.use("d_gen", D)
    g_loss = -D(gz).mean()
    g_loss.backward()
    out.update(grads("leak.", D))
    gnorm = torch.nn.utils.clip_grad_norm_(G.parameters(), 5.0)
    out.update(grads("ggrad.", G))
    optG.step()

    out.update({"real": real.numpy(), "z": z.numpy(), "zg": zg.numpy(), "alpha": alpha.numpy(),
                "scalars": np.array([d_loss.item(), gp.item(), g_loss.item(), dnorm.item(),
                                     gnorm.item(), rv.mean().item(), fv.mean().item()],
                                    dtype=np.float64)})
    for k, d in noise.draws.items():
        out["noise." + k] = flat(d)
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    np.savez_compressed(os.path.join(folder, "step.npz"), **out)
    meta = dict(c, noise_shapes={k: [list(e.shape) for e in d] for k, d in noise.draws.items()})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    size = os.path.getsize(os.path.join(folder, "step.npz"))
    print("%-11s d_loss %.6f gp %.6f g_loss %.6f |gD| %.4f |gG| %.4f  %d draws  %.2f MB"
          % ((name,) + tuple(out["scalars"][:5]) + (sum(len(d) for d in noise.draws.values()),
                                                     size / 2 ** 20)))
    assert size < 2 * 2 ** 20, "golden over 2 MB"


def main():
    names = sys.argv[1:] or list(CASES)
    for n in names:
        make_case(n, *CASES[n])


if __name__ == "__main__":
    main()
