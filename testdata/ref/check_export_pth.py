#!/usr/bin/env python3
"""Independent check of `tgan export --pth` with PyTorch (not needed by go test).

For a small v1 and a small final config that the official code can express, it
  1. trains 2 G steps with tgan, exports the run with `tgan export --pth`
     (v1: no "module." prefix, final: with it, the defaults);
  2. loads the .pth with torch.load and lists the globals its pickle calls
     (must be the ones torch.load(weights_only=True) allows);
  3. loads gen/avg_gen/dis state dicts into the reference model
     (transgan_ref.py) with strict=True and compares the EMA G on fixed z with
     `tgan infer --raw` and D on fixed images with `tgan score --raw` (1e-4);
  4. loads gen_optimizer / dis_optimizer into torch.optim.Adam over the
     reference modules' parameters() and takes one step with the gradients
     that the Go helper TestAdamStepForReference used for tgan's own next
     step; parameters after the step must agree within 2 float32 ulps plus
     1e-3 of the learning rate, the moments within 1e-5 relative;
  5. saves the stepped networks and optimizers with torch.save as the official
     script would, imports that file into the run with `tgan import --run`
     (weights and moments must be exact) and resumes `tgan train` from it;
  6. round-trips a bare EMA generator state_dict (torch.save -> tgan import ->
     tgan export --pth), which loads with weights_only=True even on 1.13.

Without a Go toolchain (for example on a GPU machine with PyTorch 2.x), --no-go
skips the replay of step 4 (the optimizer dicts are still loaded, and step 5
saves them back unstepped).

Usage (from the repository root, Debian python3-torch):
    go build -o /tmp/tgan ./cmd/tgan
    /usr/bin/python3 testdata/ref/check_export_pth.py --tgan /tmp/tgan --work /tmp/pthcheck
"""
import argparse
import os
import pickletools
import subprocess
import sys
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CIFAR = os.path.join(REPO, "..", "shared", "datasets", "cifar10", "data_batch_1.bin")

CASES = {
    "v1": dict(version="v1", latent_dim=16, g_dim=64, bottom_width=2, g_depths=[5, 4, 2], g_heads=4,
               mlp_ratio=4, image_size=8, g_rel_pos=False, d_kind="vit", d_dim=32, d_depth=1,
               d_patch=2, d_heads=4, d_rel_pos=False,
               mask_schedule=[dict(until_epoch=22, window=4), dict(until_epoch=32, window=6),
                              dict(until_epoch=42, window=8), dict(until_epoch=60, window=10)]),
    "final": dict(version="final", latent_dim=16, g_dim=64, bottom_width=4, g_depths=[1, 1, 1],
                  g_heads=4, mlp_ratio=4, image_size=16, g_rel_pos=True, d_kind="scale2", d_dim=32,
                  d_depth=1, d_patch=2, d_heads=4, d_rel_pos=True),
}

# What torch.load(weights_only=True) lets a pickle call (PyTorch 2.x; 1.13 has the
# same list but its weights-only unpickler cannot read floats at all, BINFLOAT, so
# there no optimizer state_dict loads that way, not even one torch.save wrote).
ALLOWED = {"collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch FloatStorage",
           "torch LongStorage"}


def run(*args, **kw):
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, **kw)


def yaml_of(cfg):
    lines = []
    for k, v in cfg.items():
        if k == "mask_schedule":
            lines.append("mask_schedule:")
            lines += ["  - {until_epoch: %d, window: %d}" % (s["until_epoch"], s["window"]) for s in v]
        elif isinstance(v, bool):
            lines.append("%s: %s" % (k, "true" if v else "false"))
        else:
            lines.append("%s: %s" % (k, v))
    return "\n".join(lines) + "\n"


def pickle_globals(path):
    """The GLOBALs and the opcodes of the archive's pickle, and whether every record is stored."""
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        data = z.read(pkl)
        stored = all(z.getinfo(n).compress_type == zipfile.ZIP_STORED for n in z.namelist())
    found, ops = set(), set()
    for op, arg, _ in pickletools.genops(data):
        ops.add(op.name)
        if op.name == "GLOBAL":
            found.add(arg)
    return found, ops, stored


def strip(sd):
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}


def check_case(name, cfg, args):
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    cfg_path = os.path.join(work, "config.yaml")
    with open(cfg_path, "w") as f:
        f.write(yaml_of(cfg))
    run_dir = os.path.join(work, "run")
    if not os.path.exists(os.path.join(run_dir, "latest")):
        run(args.tgan, "train", "--config", cfg_path, "--dataset", "cifar10", "--data", args.data,
            "--out", run_dir, "--steps", "2", "--batch", "4", "--samples", "4")
    pth = os.path.join(work, "run.pth")
    run(args.tgan, "export", "--pth", pth, run_dir)
    ckpt = os.path.join(run_dir, open(os.path.join(run_dir, "latest")).read().strip())

    # 2. the pickle's globals and the archive layout
    found, ops, stored = pickle_globals(pth)
    assert found <= ALLOWED, "globals outside weights_only's list: %s" % (found - ALLOWED)
    assert stored, "a record is compressed"
    # No opcode that torch.save itself does not use for the same dict.
    resaved = os.path.join(work, "resaved.pth")
    torch.save(torch.load(pth, map_location="cpu"), resaved)
    _, torch_ops, _ = pickle_globals(resaved)
    assert ops <= torch_ops, "opcodes torch.save does not use: %s" % (ops - torch_ops)
    try:
        torch.load(pth, weights_only=True)
        wo = "loads"
    except Exception as e:  # PyTorch 1.13: no BINFLOAT in the weights-only unpickler
        wo = "fails (%s)" % str(e).split("WeightsUnpickler error: ")[-1]
    ck = torch.load(pth, map_location="cpu")
    print("%s: torch %s, globals %s, opcodes %s (all used by torch.save too), weights_only=True %s" % (
        name, torch.__version__, sorted(found), sorted(ops), wo))
    for key in ["epoch", "gen_model", "dis_model", "gen_state_dict", "dis_state_dict", "avg_gen_state_dict",
                "gen_optimizer", "dis_optimizer", "best_fid", "path_helper", "fixed_z"]:
        assert key in ck, key
    prefixed = next(iter(ck["gen_state_dict"])).startswith("module.")
    assert prefixed == (name == "final"), "module. prefix"

    # 3. strict load and the forward passes against tgan infer/score --raw
    G, D = transgan_ref.build(cfg)
    G_avg, _ = transgan_ref.build(cfg)
    G.load_state_dict(strip(ck["gen_state_dict"]), strict=True)
    G_avg.load_state_dict(strip(ck["avg_gen_state_dict"]), strict=True)
    D.load_state_dict(strip(ck["dis_state_dict"]), strict=True)
    for m in D.modules():  # tgan score omits the attention noise (deterministic D)
        if hasattr(m, "noise"):
            m.noise = False
    rng = np.random.default_rng(5)
    z = rng.standard_normal((6, cfg["latent_dim"])).astype(np.float32)
    imgs = rng.uniform(-1, 1, (6, 3, cfg["image_size"], cfg["image_size"])).astype(np.float32)
    np.save(os.path.join(work, "z.npy"), z)
    np.save(os.path.join(work, "images.npy"), imgs)
    run(args.tgan, "infer", run_dir, "--z", os.path.join(work, "z.npy"), "--raw", os.path.join(work, "g.npy"),
        "--out", "")
    run(args.tgan, "score", run_dir, "--images", os.path.join(work, "images.npy"), "--raw",
        os.path.join(work, "d.npy"))
    G_avg.eval(), D.eval()
    with torch.no_grad():
        g = G_avg(torch.from_numpy(z)).numpy()
        d = D(torch.from_numpy(imgs)).numpy()
    g_err = np.abs(g - np.load(os.path.join(work, "g.npy"))).max()
    d_err = np.abs(d - np.load(os.path.join(work, "d.npy"))).max()
    print("%s: EMA G vs tgan infer --raw max |diff| %.3g; D vs tgan score --raw %.3g" % (name, g_err, d_err))
    assert g_err < 1e-4 and d_err < 1e-4

    # 4. Adam: load the optimizer dicts and replay tgan's next step (the Go helper
    # computes it; --no-go, where there is no Go toolchain, only loads the dicts)
    if args.no_go:
        opts = {}
        for net, model, sd_key in [("gen", G, "gen_optimizer"), ("dis", D, "dis_optimizer")]:
            opts[net] = torch.optim.Adam(model.parameters(), lr=1.0)
            opts[net].load_state_dict(ck[sd_key])
        print("%s: both optimizer dicts load into torch.optim.Adam (step replay skipped: --no-go)" % name)
    else:
        opts = replay_adam(name, ck, G, D, work, ckpt, args)

    # 5. back: save the stepped state as the official script does (torch.save), import
    # it into the run with `tgan import --run` and resume training from it (needs the
    # step of 4: an unstepped state adds no G step to the run)
    if not args.no_go:
        import_back(name, ck, G, D, opts, prefixed, work, run_dir, args)
    else:
        print("%s: import of a torch.save'd stepped state skipped (--no-go)" % name)

    # 6. a bare generator: torch.save'd EMA state_dict -> tgan import -> export --pth,
    # which holds no floats, so even PyTorch 1.13 loads it with weights_only=True
    bare_in, bare_ck, bare_out = (os.path.join(work, n) for n in ("bare_in.pth", "bare.safetensors", "bare.pth"))
    torch.save(G_avg.state_dict(), bare_in)
    run(args.tgan, "import", "--out", bare_ck, bare_in)
    run(args.tgan, "export", "--pth", bare_out, "--module-prefix=false", bare_ck)
    sd = torch.load(bare_out, weights_only=True)
    G_bare, _ = transgan_ref.build(cfg)
    G_bare.load_state_dict(sd, strict=True)
    same = all(torch.equal(a, b) for a, b in zip(G_bare.state_dict().values(), G_avg.state_dict().values()))
    print("%s: bare G state_dict loads with weights_only=True, strict, equal: %s" % (name, same))
    assert same


def import_back(name, ck, G, D, opts, prefixed, work, run_dir, args):
    """Step 5: torch.save the stepped state, tgan import --run it, resume."""
    pre = "module." if prefixed else ""
    back = {
        "epoch": ck["epoch"] + 1, "gen_model": ck["gen_model"], "dis_model": ck["dis_model"],
        "gen_state_dict": {pre + k: v for k, v in G.state_dict().items()},
        "dis_state_dict": {pre + k: v for k, v in D.state_dict().items()},
        "avg_gen_state_dict": ck["avg_gen_state_dict"],
        "gen_optimizer": opts["gen"].state_dict(), "dis_optimizer": opts["dis"].state_dict(),
        "best_fid": ck["best_fid"], "path_helper": ck["path_helper"], "fixed_z": ck["fixed_z"],
    }
    back_path = os.path.join(work, "official_back.pth")
    torch.save(back, back_path)
    run(args.tgan, "import", "--run", run_dir, back_path)
    latest = os.path.join(run_dir, open(os.path.join(run_dir, "latest")).read().strip())
    tensors = read_safetensors(latest)
    worst = 0.0
    for net, model in [("gen", G), ("dis", D)]:
        for n, p in model.named_parameters():
            if ("opt.%s.m.%s" % (net, n)) not in tensors:
                continue
            st = opts[net].state[p]
            worst = max(worst, float(np.abs(tensors["opt.%s.m.%s" % (net, n)] - st["exp_avg"].numpy()).max()),
                        float(np.abs(tensors["opt.%s.v.%s" % (net, n)] - st["exp_avg_sq"].numpy()).max()),
                        float(np.abs(tensors["gen." + n if net == "gen" else "dis." + n] - p.detach().numpy()).max()))
    print("%s: torch.save'd official state imported into the run: weights and moments max |diff| %g" % (name, worst))
    assert worst == 0.0
    steps = int(os.path.basename(latest).split("-")[1].split(".")[0])
    run(args.tgan, "train", "--resume", run_dir, "--steps", str(steps + 1))


def replay_adam(name, ck, G, D, work, ckpt, args):
    """Step 4: Adam from the exported dicts takes tgan's next step."""
    env = dict(os.environ, TGAN_ADAM_REF="%s:%s" % (ckpt, work))
    run("go", "test", "./internal/checkpoint/pth", "-run", "TestAdamStepForReference", "-count=1", cwd=args.repo, env=env)
    opts = {}
    for net, model, sd_key in [("gen", G, "gen_optimizer"), ("dis", D, "dis_optimizer")]:
        opt = torch.optim.Adam(model.parameters(), lr=1.0)
        opt.load_state_dict(ck[sd_key])
        group = opt.param_groups[0]
        named = dict(model.named_parameters())
        names = open(os.path.join(work, net + "_names.txt")).read().split()
        grads = np.load(os.path.join(work, net + "_grads.npy"))
        off = 0
        for n in names:
            p = named[n]
            k = p.numel()
            p.grad = torch.from_numpy(grads[off:off + k].reshape(p.shape).copy())
            off += k
        assert off == grads.size
        opt.step()
        worst = {}
        for what in ["params", "m", "v"]:
            want = np.load(os.path.join(work, "%s_%s.npy" % (net, what)))
            got = []
            for n in names:
                p = named[n]
                t = {"params": p.detach(), "m": opt.state[p]["exp_avg"], "v": opt.state[p]["exp_avg_sq"]}[what]
                got.append(t.reshape(-1).numpy())
            got = np.concatenate(got)
            if what == "params":  # in units of lr (the step size); both round p - update to float32
                diff = np.abs(got - want)
                worst["params/lr"] = float(diff.max() / group["lr"])
                worst["params_ok"] = bool((diff <= 2 * np.spacing(np.abs(want)) + 1e-3 * group["lr"]).all())
            else:
                worst[what] = float((np.abs(got - want) / (np.abs(want) + 1e-12)).max())
        steps = {float(opt.state[named[n]]["step"]) for n in names}
        print("%s %s: lr %g betas %s eps %g, step now %s, after one step, params max |diff|/lr and m, v max rel diff: %s" % (
            name, net, group["lr"], group["betas"], group["eps"], sorted(steps), worst))
        assert worst["params_ok"] and worst["m"] < 1e-5 and worst["v"] < 1e-5, worst
        opts[net] = opt
    return opts


def read_safetensors(path):
    import json
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        raw = open(path, "rb").read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[base + a:base + b], dtype="<f4").reshape(v["shape"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tgan", required=True, help="tgan binary")
    ap.add_argument("--work", default="/tmp/pthcheck")
    ap.add_argument("--data", default=CIFAR, help="CIFAR-10 data_batch_1.bin")
    ap.add_argument("--repo", default=REPO, help="tgan source tree (runs go test there)")
    ap.add_argument("--no-go", action="store_true",
                    help="no Go toolchain here: load the optimizer dicts but skip the Adam step replay")
    args = ap.parse_args()
    torch.manual_seed(0)
    for name, cfg in CASES.items():
        check_case(name, cfg, args)
    print("all checks passed")


if __name__ == "__main__":
    main()
