"""Golden files for the SPEC-hires families, from the reference in transgan_ref_hires.py.

  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 testdata/ref/make_golden_hires.py   # 4 small cases
  /usr/bin/python3 testdata/ref/make_golden_hires.py --case final_stl_small        # one of them
  /usr/bin/python3 testdata/ref/make_golden_hires.py --case church-256 --out /tmp/church-256
                                       # full-size preset (batch 2, not committed)

Each case folder holds official.pth, case.json, z.npy -> g.npy (EMA G, eval) with
g_noise.npy, images.npy -> d.npy (D, no augmentation) with d_noise.npy. The *_noise.npy files
are the float32 concatenation of every attention-noise draw of that one forward, in call
order, each draw [B', N', 1] row-major; case.json lists the draw shapes.
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
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref_hires as ref  # noqa: E402
from make_golden import LEAN_NUMEL, prefixed, save_npy, share_tensors, strip  # noqa: E402

torch.set_num_threads(1)

# tgan's Config JSON field order (model/config.go); omitempty fields only when set.
FIELDS = ["version", "latent_dim", "g_dim", "bottom_width", "g_depths", "g_heads", "mlp_ratio",
          "image_size", "g_rel_pos", "g_arch", "g_norm", "g_windows", "d_kind", "d_dim",
          "d_depth", "d_patch", "d_heads", "d_rel_pos", "d_norm", "d_no_noise", "d_window",
          "d_filter_bank"]
REQUIRED = {"version", "latent_dim", "g_dim", "bottom_width", "g_depths", "g_heads",
            "mlp_ratio", "image_size", "g_rel_pos", "d_kind", "d_dim", "d_depth", "d_patch",
            "d_heads", "d_rel_pos"}


def cfg(**kw):
    c = dict(version="final", g_heads=4, mlp_ratio=4, g_rel_pos=False, d_heads=4,
             d_rel_pos=False)
    c.update(kw)
    bad = set(c) - set(FIELDS)
    assert not bad, bad
    return {k: c[k] for k in FIELDS if k in REQUIRED or c.get(k)}


SMALL = {  # name -> (config, seed, batch); the contract in /tmp/lead/common.md
    "final_stl_small": (cfg(latent_dim=16, g_dim=64, bottom_width=3, g_depths=[1, 1, 1],
                            image_size=12, g_rel_pos=True, g_norm="pn", d_kind="scale2",
                            d_dim=32, d_depth=1, d_patch=2, d_rel_pos=True, d_norm="pn"),
                        301, 4),
    "final_norp_small": (cfg(latent_dim=16, g_dim=64, bottom_width=2, g_depths=[1, 1, 1],
                             image_size=8, g_arch="custom", d_kind="scale2", d_dim=32,
                             d_depth=1, d_patch=2, d_rel_pos=True, d_no_noise=True),
                         302, 4),
    "celeba256_small": (cfg(latent_dim=16, g_dim=128, bottom_width=2,
                            g_depths=[0, 1, 1, 1, 1, 1], g_heads=2, image_size=64,
                            g_arch="celeba256", g_norm="pn", g_windows=[2, 4, 8, 4, 4, 4],
                            d_kind="celeba256", d_dim=32, d_depth=3, d_patch=2, d_window=4,
                            d_filter_bank=True),
                        303, 2),
    "church256_small": (cfg(latent_dim=16, g_dim=128, bottom_width=2,
                            g_depths=[1, 1, 1, 1, 1, 1], g_heads=2, image_size=64,
                            g_arch="church256", g_norm="pn", g_windows=[2, 4, 8, 4, 4, 4],
                            d_kind="scale3", d_dim=64, d_depth=3, d_patch=4, d_rel_pos=True,
                            d_window=4),
                        304, 2),
}
# Full-size presets: model.Preset(name).JSON() of tgan (checked against it).
FULL = {
    "final-stl": (cfg(latent_dim=512, g_dim=1024, bottom_width=12, g_depths=[7, 5, 3],
                      image_size=48, g_rel_pos=True, g_norm="pn", d_kind="scale2", d_dim=384,
                      d_depth=3, d_patch=2, d_rel_pos=True, d_norm="pn"), 401, 2),
    "final-cifar-norp": (cfg(latent_dim=256, g_dim=1024, bottom_width=8, g_depths=[5, 4, 2],
                             image_size=32, g_arch="custom", d_kind="scale2", d_dim=384,
                             d_depth=3, d_patch=2, d_rel_pos=True, d_no_noise=True), 402, 2),
    "celeba-hq-256": (cfg(latent_dim=512, g_dim=1024, bottom_width=8,
                          g_depths=[0, 4, 4, 4, 4, 4], image_size=256, g_arch="celeba256",
                          g_norm="pn", g_windows=[8, 16, 32, 16, 16, 16], d_kind="celeba256",
                          d_dim=384, d_depth=3, d_patch=2, d_window=4, d_filter_bank=True),
                      403, 2),
    "church-256": (cfg(latent_dim=512, g_dim=1024, bottom_width=8, g_depths=[5, 4, 4, 4, 4, 4],
                       image_size=256, g_arch="church256", g_norm="pn",
                       g_windows=[8, 16, 32, 16, 16, 16], d_kind="scale3", d_dim=384,
                       d_depth=3, d_patch=4, d_rel_pos=True, d_window=16), 404, 2),
}


def model_names(c):
    g = {"": "ViT_custom_rp", "custom": "ViT_custom", "celeba256": "Celeba256_gen",
         "church256": "ViT_custom_local544444_256_rp_noise"}[c.get("g_arch", "")]
    if c["d_kind"] == "scale2":
        d = "ViT_custom_scale2" if c.get("d_no_noise") else "ViT_custom_scale2_rp_noise"
    else:
        d = {"celeba256": "Celeba256_dis", "scale3": "ViT_scale3_local_new_rp"}[c["d_kind"]]
    return g, d


@torch.no_grad()
def randomise(model, gen):
    """Every tensor non-trivial: affine norms, biases, embeddings, tables, noise strengths
    ~U(0.1, 0.5) (also the dead cross-attention one). Index buffers and Hz_fbank keep their
    deterministic values."""
    def rn(t, std, mean=0.0):
        t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    for mod in model.modules():
        if isinstance(mod, nn.LayerNorm):
            rn(mod.weight, 0.1, 1.0)
            rn(mod.bias, 0.1)
        elif isinstance(mod, (nn.Linear, nn.Conv2d)):
            fan_in = mod.weight[0].numel()
            rn(mod.weight, min(0.1, max(0.02, 1.0 / math.sqrt(fan_in))))
            if mod.bias is not None:
                rn(mod.bias, 0.05)
        elif isinstance(mod, ref.Attention) and mod.window:
            rn(mod.relative_position_bias_table, 0.5)
        if isinstance(mod, (ref.Attention, ref.CrossAttention)) and \
                hasattr(mod, "noise_strength_1"):
            mod.noise_strength_1.copy_(0.1 + 0.4 * torch.rand([], generator=gen))
    for name, p in model.named_parameters(recurse=False):
        if name.startswith("pos_embed") or name == "embed_pos":
            rn(p, 0.1)
        elif name == "cls_token":
            rn(p, 0.3)


def adam_step(model, loss_fn, frozen=()):
    """One real Adam step (official hyper-parameters). Parameters in `frozen` (and the dead
    cross-attention strengths, which the loss never reaches) get no gradient, so Adam keeps
    no state for them."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.0, 0.99), eps=1e-8)
    opt.zero_grad()
    for p in frozen:
        p.requires_grad_(False)
    loss_fn(model).backward()
    opt.step()
    for p in frozen:
        p.requires_grad_(True)
    return opt.state_dict()


def forward_recorded(model, x, seed):
    """Forward with a seeded noise source; returns (output, list of eps draws)."""
    src = ref.NoiseSource(torch.Generator().manual_seed(seed))
    src.record = []
    ref.set_noise_source(model, src)
    with torch.no_grad():
        y = model(x)
    return y, src.record


def forward_replay(model, x, draws):
    src = ref.NoiseSource()
    src.replay = [d.clone() for d in draws]
    ref.set_noise_source(model, src)
    with torch.no_grad():
        y = model(x)
    assert not src.replay, "unused noise draws"
    return y


def flat(draws):
    if not draws:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([d.numpy().reshape(-1) for d in draws]).astype(np.float32)


def make_case(name, spec, out, lean):
    c, seed, Bn = spec
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    G_avg, D = ref.build(c)
    randomise(G_avg, gen)
    randomise(D, gen)
    G_avg.eval()
    D.eval()
    z = torch.randn(Bn, c["latent_dim"], generator=gen)
    H = c["image_size"]
    images = torch.rand(Bn, 3, H, H, generator=gen) * 2 - 1

    # training G: EMA G plus a perturbation, then one real Adam step (random noise draws)
    G_train = copy.deepcopy(G_avg)
    shared = share_tensors(G_train, G_avg, lean)
    with torch.no_grad():
        for p in G_train.parameters():
            if p not in shared:
                p.add_(torch.randn(p.shape, generator=gen) * 0.01)
    train_src = ref.NoiseSource(torch.Generator().manual_seed(seed + 10))
    ref.set_noise_source(G_train, train_src)
    ref.set_noise_source(D, train_src)
    G_train.train()
    g_opt = adam_step(G_train, lambda m: m(z).square().mean(), shared)
    D.train()
    d_frozen = [p for p in D.parameters() if lean and p.numel() > LEAN_NUMEL]
    d_opt = adam_step(D, lambda m: -m(images).mean(), d_frozen)
    D.eval()
    G_train.eval()

    g, g_draws = forward_recorded(G_avg, z, seed + 1)
    d, d_draws = forward_recorded(D, images, seed + 2)
    save_npy(os.path.join(out, "z.npy"), z.numpy())
    save_npy(os.path.join(out, "g.npy"), g.numpy())
    save_npy(os.path.join(out, "g_noise.npy"), flat(g_draws))
    save_npy(os.path.join(out, "images.npy"), images.numpy())
    save_npy(os.path.join(out, "d.npy"), d.numpy())
    save_npy(os.path.join(out, "d_noise.npy"), flat(d_draws))

    gname, dname = model_names(c)
    ckpt = {
        "epoch": 123,
        "gen_model": gname,
        "dis_model": dname,
        "gen_state_dict": prefixed(G_train.state_dict(), True),
        "dis_state_dict": prefixed(D.state_dict(), True),
        "avg_gen_state_dict": prefixed(G_avg.state_dict(), True),
        "gen_optimizer": g_opt,
        "dis_optimizer": d_opt,
        "best_fid": 12.345678,
        "path_helper": {"prefix": "logs/%s_2021_01_01_00_00_00" % name,
                        "ckpt_path": "logs/%s/Model" % name,
                        "log_path": "logs/%s/Log" % name,
                        "sample_path": "logs/%s/Samples" % name},
        "fixed_z": z.clone(),
    }
    torch.save(ckpt, os.path.join(out, "official.pth"))
    meta = dict(c, batch=Bn, mask_epochs=[],
                g_noise_shapes=[list(e.shape) for e in g_draws],
                d_noise_shapes=[list(e.shape) for e in d_draws])
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")

    check_reload(c, out)
    print("%-18s ok  G %s max|g| %.3f  D %s  noise G %d D %d draws"
          % (name, tuple(g.shape), g.abs().max().item(), tuple(d.reshape(-1).shape),
             len(g_draws), len(d_draws)))


def check_reload(c, out):
    """The checkpoint and the npy files alone reproduce the goldens bit for bit."""
    meta = json.load(open(os.path.join(out, "case.json")))
    ck = torch.load(os.path.join(out, "official.pth"), map_location="cpu")
    G, D = ref.build(c)
    G.load_state_dict(strip(ck["avg_gen_state_dict"]), strict=True)
    D.load_state_dict(strip(ck["dis_state_dict"]), strict=True)
    G.eval()
    D.eval()
    ld = lambda n: np.load(os.path.join(out, n))  # noqa: E731
    z = torch.from_numpy(ld("z.npy"))
    gd = ref.split_noise(ld("g_noise.npy"), meta["g_noise_shapes"])
    assert torch.equal(forward_replay(G, z, gd), torch.from_numpy(ld("g.npy")))
    x = torch.from_numpy(ld("images.npy"))
    dd = ref.split_noise(ld("d_noise.npy"), meta["d_noise_shapes"])
    assert torch.equal(forward_replay(D, x, dd), torch.from_numpy(ld("d.npy")))
    G2, _ = ref.build(c)
    G2.load_state_dict(strip(ck["gen_state_dict"]), strict=True)
    G2.eval()
    assert (forward_replay(G2, z, gd) - forward_replay(G, z, gd)).abs().max() > 1e-3, \
        "EMA G too close to G"
    for name, p in G.named_parameters():   # strengths must be non-zero
        if name.endswith("noise_strength_1"):
            assert abs(float(p)) > 0.05, name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", help="one case (small: %s; full size: %s)"
                    % (", ".join(SMALL), ", ".join(FULL)))
    ap.add_argument("--out", help="output folder (default testdata/golden/<case>)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--check", action="store_true",
                    help="self checks: resampling, Hz_fbank, windows, full-size parameter counts")
    ap.add_argument("--dump-keys", help="with --check: write the full-size state_dict keys here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        check_resampling()
        check_fbank()
        check_windows()
        check_counts(a.dump_keys)
        return
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
    names = list(SMALL) if a.case is None else [a.case]
    for n in names:
        if n in SMALL:
            make_case(n, SMALL[n], a.out or os.path.join(root, n), lean=True)
        elif n in FULL:
            if not a.out:
                sys.exit("full-size cases need --out (they are not committed)")
            make_case(n, FULL[n], a.out, lean=False)
        else:
            sys.exit("unknown case %s" % n)



# ---------------------------------------------------------------- self checks (--check)

SPEC_COUNTS = {  # SPEC-hires section 6 (parameters, buffers excluded)
    "final-stl": (168466623, 10341536),
    "celeba-hq-256": (212903275, 13334593),
    "church-256": (205291952, 17754569),
}


def check_counts(dump_dir=None):
    """Parameter counts of the full-size presets against SPEC-hires 6; optionally dump the
    state_dict keys and shapes (for a comparison with tgan's GParams/DParams)."""
    for name, (c, _, _) in FULL.items():
        G, D = ref.build(c)
        ng = sum(p.numel() for p in G.parameters())
        nd = sum(p.numel() for p in D.parameters())
        want = SPEC_COUNTS.get(name)
        status = "" if want is None else ("ok" if (ng, nd) == want else "MISMATCH %s" % (want,))
        print("%-17s G %11d  D %10d  %s" % (name, ng, nd, status))
        assert want is None or (ng, nd) == want
        if dump_dir:
            sd = {k: [[n, list(t.shape), str(t.dtype)] for n, t in m.state_dict().items()]
                  for k, m in (("gen_state_dict", G), ("avg_gen_state_dict", G),
                               ("dis_state_dict", D))}
            with open(os.path.join(dump_dir, name + ".json"), "w") as f:
                json.dump(sd, f)
            with open(os.path.join(dump_dir, name + ".case.json"), "w") as f:
                json.dump(c, f)
        del G, D


def check_resampling():
    """bicubic x2 = the fixed phase weights of SPEC-hires 0.5; updown = its 5-tap filter."""
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 5, 9, 7, generator=gen, dtype=torch.float64)

    def taps(x, ks, offs, axis):   # sum_k K[k] * x[clamp(i + off_k)] along axis
        n = x.shape[axis]
        i = torch.arange(n)
        return sum(k * x.index_select(axis, (i + o).clamp(0, n - 1)) for k, o in zip(ks, offs))

    def up2(x, axis):
        even = taps(x, [-0.03515625, 0.26171875, 0.87890625, -0.10546875], [-2, -1, 0, 1], axis)
        odd = taps(x, [-0.10546875, 0.87890625, 0.26171875, -0.03515625], [-1, 0, 1, 2], axis)
        return torch.stack([even, odd], dim=axis + 1).flatten(axis, axis + 1)

    want = up2(up2(x, 2), 3)
    got = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    assert (got - want).abs().max() < 1e-12, (got - want).abs().max()
    K = [-0.01904296875, 0.08984375, 0.8583984375, 0.08984375, -0.01904296875]
    assert abs(sum(K) - 1) < 1e-15
    want = taps(taps(x, K, range(-2, 3), 2), K, range(-2, 3), 3)
    got = nn.AvgPool2d(4)(F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))
    assert (got - want).abs().max() < 1e-12, (got - want).abs().max()
    tok = x.float().flatten(2).transpose(1, 2)
    assert torch.equal(ref.updown(tok, 9, 7),
                       ref.map_to_tokens(nn.AvgPool2d(4)(F.interpolate(
                           x.float(), scale_factor=4, mode="bicubic", align_corners=False))))
    print("bicubic x2 phases and updown 5-tap filter: ok")


def check_fbank():
    h = ref.hz_fbank().double()
    assert tuple(h.shape) == (4, 43)
    sums, centre = h.sum(1), h[:, 21]
    assert abs(sums[0] - 1) < 1e-6 and sums[1:].abs().max() < 1e-6, sums
    assert (centre - torch.tensor([0.125, 0.125, 0.25, 0.5], dtype=torch.float64)).abs().max() \
        < 1e-6, centre
    hi2 = torch.tensor([0.03125, 0, -0.28125, 0.5, -0.28125, 0, 0.03125], dtype=torch.float64)
    assert (h[3, 18:25] - hi2).abs().max() < 1e-6 and h[3, :18].abs().max() < 1e-7
    assert torch.equal(h, h.flip(1))
    print("Hz_fbank: row sums %s, centre taps %s: ok"
          % ([round(float(s), 7) for s in sums], [float(c) for c in centre]))


def check_windows():
    """Partition numbering of SPEC-hires 0.3 and its inverse."""
    B, H, W, w, C = 2, 8, 12, 4, 3
    x = torch.arange(B * H * W * C, dtype=torch.float32).reshape(B, H * W, C)
    p = ref.window_partition(x, H, W, w)
    for b in range(B):
        for R in range(H // w):
            for Q in range(W // w):
                for r in range(w):
                    for c in range(w):
                        win = b * (H // w) * (W // w) + R * (W // w) + Q
                        assert torch.equal(p[win, r * w + c], x[b, (R * w + r) * W + Q * w + c])
    assert torch.equal(ref.window_reverse(p, H, W, w), x)
    print("window partition/reverse: ok")


if __name__ == "__main__":
    main()
