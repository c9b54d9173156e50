"""Golden files for one TransGAN training iteration (tgan's trainer package).

Runs, with the independent reference modules of transgan_ref.py, one iteration of the
official recipe on fixed tensors: a D step with loss wgangp-eps (WGAN-GP penalty by
double backprop, drift term 1e-3 * mean(D(x))^2), gradient clipping to norm 5, Adam
(lr 1e-4, betas (0, 0.99), eps 1e-8), then a G step (-mean D(G(z'))) against the updated
D. DiffAugment is off (its random draws cannot be shared with Go); the v1 locality mask
is on (epoch 0, window 4).

  /usr/bin/python3 testdata/ref/train_step_ref.py   # writes testdata/golden/train_step/
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref as ref  # noqa: E402

torch.set_num_threads(2)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden", "train_step")
CFG = {"version": "v1", "latent_dim": 8, "g_dim": 32, "bottom_width": 2, "g_depths": [1, 1, 1],
       "g_heads": 2, "mlp_ratio": 4, "image_size": 8, "d_kind": "vit", "d_dim": 16, "d_depth": 1,
       "d_patch": 2, "d_heads": 4}
BD, BG = 2, 3


def arrays(prefix, sd):
    out = {}
    for k, v in sd.items():
        v = v.detach().cpu()
        out[prefix + k] = v.numpy().astype(np.int64 if v.dtype == torch.int64 else np.float32)
    return out


def main():
    torch.manual_seed(7)
    G, D = ref.build(CFG)
    with torch.no_grad():  # move away from the init so that every tensor matters
        for p in list(G.parameters()) + list(D.parameters()):
            p.add_(0.1 * torch.randn_like(p))
    out = {}
    out.update(arrays("g0.", G.state_dict()))
    out.update(arrays("d0.", D.state_dict()))
    real = torch.rand(BD, 3, 8, 8) * 2 - 1
    z = torch.randn(BD, CFG["latent_dim"])
    zg = torch.randn(BG, CFG["latent_dim"])
    alpha = torch.rand(BD)
    optD = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.99), eps=1e-8)
    optG = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.99), eps=1e-8)

    fake = G(z, epoch=0).detach()
    rv, fv = D(real), D(fake)
    a = alpha.view(-1, 1, 1, 1)
    interp = (a * real + (1 - a) * fake).requires_grad_(True)
    di = D(interp)
    g = torch.autograd.grad(di, interp, torch.ones_like(di), create_graph=True, retain_graph=True)[0]
    gp = ((g.reshape(BD, -1).norm(2, dim=1) - 1) ** 2).mean()
    d_loss = -rv.mean() + fv.mean() + gp * 10 + 1e-3 * rv.mean() ** 2
    optD.zero_grad()
    d_loss.backward()
    dnorm = torch.nn.utils.clip_grad_norm_(D.parameters(), 5.0)
    out.update({"dgrad." + n: p.grad.numpy().copy() for n, p in D.named_parameters()})
    optD.step()

    optG.zero_grad()
    g_loss = -D(G(zg, epoch=0)).mean()
    g_loss.backward()
    gnorm = torch.nn.utils.clip_grad_norm_(G.parameters(), 5.0)
    out.update({"ggrad." + n: p.grad.numpy().copy() for n, p in G.named_parameters() if p.grad is not None})
    optG.step()

    out.update(arrays("g1.", G.state_dict()))
    out.update(arrays("d1.", D.state_dict()))
    out.update({"real": real.numpy(), "z": z.numpy(), "zg": zg.numpy(), "alpha": alpha.numpy(),
                "scalars": np.array([d_loss.item(), gp.item(), g_loss.item(), dnorm.item(), gnorm.item()],
                                    dtype=np.float64)})
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "step.npz"), **out)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CFG, f, indent=1)
    print("d_loss %.6f gp %.6f g_loss %.6f |gD| %.4f |gG| %.4f" % tuple(out["scalars"]))


if __name__ == "__main__":
    main()
