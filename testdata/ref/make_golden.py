"""Golden files for tgan, from the independent reference in transgan_ref.py.

  /usr/bin/python3 testdata/ref/make_golden.py                 # all small committed cases
  /usr/bin/python3 testdata/ref/make_golden.py --case v1-s --out /tmp/v1-s   # full size
"""
import argparse
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref as ref  # noqa: E402

torch.set_num_threads(2)
B = 4


def cfg(version, latent, g_dim, bottom, depths, d_kind, d_dim, d_depth, d_patch, batch=B):
    img = bottom * 2 ** (len(depths) - 1)
    if version == "v1":
        mask_epochs = [0, 7, 12, 17, 30] if len(depths) >= 4 else [0, 25, 35, 45, 70]
    else:
        mask_epochs = []
    return {"version": version, "latent_dim": latent, "g_dim": g_dim, "bottom_width": bottom,
            "g_depths": list(depths), "g_heads": 4, "mlp_ratio": 4, "image_size": img,
            "d_kind": d_kind, "d_dim": d_dim, "d_depth": d_depth, "d_patch": d_patch,
            "d_heads": 4, "batch": batch, "mask_epochs": mask_epochs}


# name -> (config, seed, checkpoint format)
#   legacy: old (non-zip) torch.save format ; prefix: True adds 'module.' ;
#   bare: the file is only the EMA G state_dict ;
#   lean: to keep testdata small, gen_state_dict shares every tensor with more than
#         LEAN_NUMEL elements with avg_gen_state_dict (one storage in the file), only the
#         smaller tensors differ, and the Adam steps only touch those smaller tensors (Adam
#         keeps no state for parameters without a gradient). The int64
#         relative_position_index buffers are always shared between the two G dicts.
SMALL = {
    "v1_small": (cfg("v1", 32, 64, 4, [2, 1, 1], "vit", 64, 2, 4), 101,
                 dict(legacy=False, prefix=True, bare=False, lean=False)),
    "v1_celeba_small": (cfg("v1", 16, 256, 2, [1, 1, 1, 1], "vit", 32, 1, 2), 102,
                        dict(legacy=True, prefix=False, bare=False, lean=True)),
    "v1_stl_small": (cfg("v1", 24, 128, 3, [1, 1, 1], "vit", 32, 1, 3), 103,
                     dict(legacy=False, prefix=True, bare=True, lean=False)),
    "final_small": (cfg("final", 32, 64, 4, [2, 1, 1], "scale2", 64, 2, 2), 104,
                    dict(legacy=False, prefix=True, bare=False, lean=True)),
    "final_mid": (cfg("final", 64, 128, 8, [1, 1, 1], "scale2", 96, 1, 2), 105,
                  dict(legacy=False, prefix=True, bare=False, lean=True)),
}
FULL = {
    "v1-s": (cfg("v1", 1024, 384, 8, [5, 2, 2], "vit", 384, 7, 4, batch=2), 201,
             dict(legacy=False, prefix=True, bare=False, lean=False)),
    "v1-cifar": (cfg("v1", 1024, 1024, 8, [5, 4, 2], "vit", 384, 7, 4, batch=2), 202,
                 dict(legacy=False, prefix=True, bare=False, lean=False)),
    "final-cifar": (cfg("final", 256, 1024, 8, [5, 4, 2], "scale2", 384, 3, 2, batch=2), 203,
                    dict(legacy=False, prefix=True, bare=False, lean=False)),
}
LEAN_NUMEL = 4096
MODEL_NAMES = {"v1": ("TransGAN_8_8_1", "ViT_8_8"),
               "final": ("ViT_custom_rp", "ViT_custom_scale2_rp_noise")}


@torch.no_grad()
def randomise(model, gen):
    """Give every tensor a non-trivial value so that each one matters in the goldens."""
    def rn(t, std, mean=0.0):
        t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    for mod in model.modules():
        if isinstance(mod, (nn.LayerNorm, nn.BatchNorm2d)):
            rn(mod.weight, 0.1, 1.0)
            rn(mod.bias, 0.1)
            if isinstance(mod, nn.BatchNorm2d):
                rn(mod.running_mean, 0.1)
                mod.running_var.copy_(1.0 + 0.2 * torch.rand(mod.running_var.shape, generator=gen))
                mod.num_batches_tracked.fill_(1234)
        elif isinstance(mod, (nn.Linear, nn.Conv2d)):
            fan_in = mod.weight[0].numel()
            rn(mod.weight, min(0.1, max(0.02, 1.0 / math.sqrt(fan_in))))
            if mod.bias is not None:
                rn(mod.bias, 0.05)
        elif isinstance(mod, ref.Attention):
            if mod.window is not None:
                rn(mod.relative_position_bias_table, 0.5)
            if mod.noise:
                mod.noise_strength_1.zero_()
    for name, p in model.named_parameters(recurse=False):
        if name.startswith("pos_embed"):
            rn(p, 0.1)
        elif name == "cls_token":
            rn(p, 0.3)


def prefixed(sd, prefix):
    return {("module." + k if prefix else k): v for k, v in sd.items()}


def share_tensors(dst, src, lean):
    """Make dst (a copy of src) reuse src's storage for the index buffers and, when lean,
    for every tensor above LEAN_NUMEL elements. Returns the set of shared parameters."""
    shared = set()
    srcmods = dict(src.named_modules())
    for mname, m in dst.named_modules():
        sm = srcmods[mname]
        for bname, b in list(m._buffers.items()):
            if b is not None and (bname == "relative_position_index"
                                  or (lean and b.numel() > LEAN_NUMEL)):
                m._buffers[bname] = sm._buffers[bname]
        for pname, p in m._parameters.items():
            if p is not None and lean and p.numel() > LEAN_NUMEL:
                p.data = sm._parameters[pname].data
                shared.add(p)
    return shared


def adam_step(model, loss_fn, frozen=()):
    """One real Adam step (official hyper-parameters); parameters in `frozen` get no
    gradient, so Adam keeps no state for them and leaves them untouched."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.0, 0.99), eps=1e-8)
    opt.zero_grad()
    for p in frozen:
        p.requires_grad_(False)
    loss_fn(model).backward()
    opt.step()
    for p in frozen:
        p.requires_grad_(True)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, ref.Attention) and m.noise:
                m.noise_strength_1.zero_()   # keep D deterministic
    return opt.state_dict()


def save_npy(path, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(path, arr)


def make_case(name, spec, out):
    c, seed, fmt = spec
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Bn = c["batch"]

    G_avg, D = ref.build(c)
    randomise(G_avg, gen)
    randomise(D, gen)
    G_avg.eval()
    D.eval()

    z = torch.randn(Bn, c["latent_dim"], generator=gen)
    H = c["image_size"]
    images = torch.rand(Bn, 3, H, H, generator=gen) * 2 - 1

    # training G: EMA G plus a perturbation, then one real Adam step
    G_train = copy.deepcopy(G_avg)
    shared = share_tensors(G_train, G_avg, fmt["lean"])
    with torch.no_grad():
        for p in G_train.parameters():
            if p not in shared:
                p.add_(torch.randn(p.shape, generator=gen) * 0.01)
    G_train.train()
    g_opt = adam_step(G_train, lambda m: m(z).square().mean(), shared)
    D.train()
    d_frozen = [p for p in D.parameters() if fmt["lean"] and p.numel() > LEAN_NUMEL]
    d_opt = adam_step(D, lambda m: -m(images).mean(), d_frozen)
    D.eval()
    G_train.eval()

    with torch.no_grad():
        g = G_avg(z)
        save_npy(os.path.join(out, "z.npy"), z.numpy())
        save_npy(os.path.join(out, "g.npy"), g.numpy())
        for e in c["mask_epochs"]:
            save_npy(os.path.join(out, "g_epoch%d.npy" % e), G_avg(z, epoch=e).numpy())
        if not fmt["bare"]:
            torch.manual_seed(seed + 1)
            d = D(images)
            save_npy(os.path.join(out, "images.npy"), images.numpy())
            save_npy(os.path.join(out, "d.npy"), d.numpy())

    pfx = fmt["prefix"]
    if fmt["bare"]:
        ckpt = prefixed(G_avg.state_dict(), pfx)
    else:
        gname, dname = MODEL_NAMES[c["version"]]
        ckpt = {
            "epoch": 123,
            "gen_model": gname,
            "dis_model": dname,
            "gen_state_dict": prefixed(G_train.state_dict(), pfx),
            "dis_state_dict": prefixed(D.state_dict(), pfx),
            "avg_gen_state_dict": prefixed(G_avg.state_dict(), pfx),
            "gen_optimizer": g_opt,
            "dis_optimizer": d_opt,
            "best_fid": 12.345678,
            "path_helper": {"prefix": "logs/%s_2021_01_01_00_00_00" % name,
                            "ckpt_path": "logs/%s/Model" % name,
                            "log_path": "logs/%s/Log" % name,
                            "sample_path": "logs/%s/Samples" % name},
            "fixed_z": z.clone(),
        }
    kw = {"_use_new_zipfile_serialization": False} if fmt["legacy"] else {}
    torch.save(ckpt, os.path.join(out, "official.pth"), **kw)
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(c, f, indent=1)
        f.write("\n")

    # reload check: the checkpoint alone reproduces the goldens
    check_reload(c, out, fmt)
    print("%-16s ok  G %s  max|g| %.3f" % (name, tuple(g.shape), g.abs().max().item()))


def strip(sd):
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}


def check_reload(c, out, fmt):
    ck = torch.load(os.path.join(out, "official.pth"), map_location="cpu")
    G, D = ref.build(c)
    G.load_state_dict(strip(ck if fmt["bare"] else ck["avg_gen_state_dict"]), strict=True)
    G.eval()
    with torch.no_grad():
        z = torch.from_numpy(np.load(os.path.join(out, "z.npy")))
        assert torch.equal(G(z), torch.from_numpy(np.load(os.path.join(out, "g.npy"))))
        for e in c["mask_epochs"]:
            want = torch.from_numpy(np.load(os.path.join(out, "g_epoch%d.npy" % e)))
            assert torch.equal(G(z, epoch=e), want)
        if not fmt["bare"]:
            D.load_state_dict(strip(ck["dis_state_dict"]), strict=True)
            D.eval()
            x = torch.from_numpy(np.load(os.path.join(out, "images.npy")))
            assert torch.equal(D(x), torch.from_numpy(np.load(os.path.join(out, "d.npy"))))
            G2, _ = ref.build(c)
            G2.load_state_dict(strip(ck["gen_state_dict"]), strict=True)
            G2.eval()
            assert (G2(z) - G(z)).abs().max() > 1e-3, "EMA G too close to G"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", help="one case (small: %s; full size: %s)"
                    % (", ".join(SMALL), ", ".join(FULL)))
    ap.add_argument("--out", help="output folder (default testdata/golden/<case>)")
    a = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
    if a.case is None:
        for name, spec in SMALL.items():
            make_case(name, spec, os.path.join(root, name))
        return
    allc = dict(SMALL, **FULL)
    if a.case not in allc:
        sys.exit("unknown case %s" % a.case)
    if a.case in FULL and not a.out:
        sys.exit("full-size cases need --out (they are not committed)")
    make_case(a.case, allc[a.case], a.out or os.path.join(root, a.case))


if __name__ == "__main__":
    main()
