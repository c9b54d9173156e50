#!/usr/bin/env python3
"""Independent check of `tgan import` / `tgan export --pth` for the SPEC-hires families
(final-stl, final-cifar-norp, celeba-hq-256, church-256) with PyTorch (not needed by go test).

Two directions, against the reference modules of transgan_ref_hires.py:
  A. golden -> tgan -> .pth: every small golden official.pth (make_golden_hires.py) goes
     through `tgan import` and `tgan export --pth`; the result
       - uses only the pickle globals torch.load(weights_only=True) allows, every record stored;
       - has the same top-level entries, and gen/avg_gen/dis state dicts with the golden's
         keys in the golden's order (= the reference modules' state_dict order), the same
         dtypes and shapes (int64 index buffers, 0-dim noise strengths, Hz_fbank) and equal
         values (Hz_fbank, which tgan recomputes, within 1e-6);
       - loads strictly into the reference G, EMA G and D;
       - has gen/dis optimizers whose param lists cover the reference parameters() and
         whose states equal the golden's index by index (so the dead
         cross_attention.noise_strength_1 parameters keep their indices and have no
         state), and that load into torch.optim.Adam over the reference parameters with
         every moment shaped like its parameter.
  B. Go -> .pth: random checkpoints written by the Go test TestWriteHiresForReference
     (with and without the module. prefix) load strictly, keys in the reference order,
     and their optimizers load into Adam with every moment shaped like its parameter and
     no state for dead parameters. With --full, the same for the four presets at their
     official sizes (no Adam state there, to keep the files near 2 GB each).

Usage (from the repository root, Debian python3-torch):
    go build -o /tmp/tgan ./cmd/tgan
    /usr/bin/python3 testdata/ref/check_export_pth_hires.py --tgan /tmp/tgan --work /tmp/pthhires
"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref_hires as ref  # noqa: E402
from check_export_pth import ALLOWED, pickle_globals, strip  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CASES = ["final_stl_small", "final_norp_small", "celeba256_small", "church256_small"]
FULL = ["final-stl", "final-cifar-norp", "celeba-hq-256", "church-256"]
TOP = ["epoch", "gen_model", "dis_model", "gen_state_dict", "dis_state_dict", "avg_gen_state_dict",
       "gen_optimizer", "dis_optimizer", "best_fid", "path_helper", "fixed_z"]


def run(*args, **kw):
    print("+", " ".join(args), flush=True)
    subprocess.run(args, check=True, **kw)


def dead_names(model):
    return {n for n, _ in model.named_parameters() if n.endswith("cross_attention.noise_strength_1")}


def check_layout(path):
    found, _, stored = pickle_globals(path)
    assert found <= ALLOWED, "globals outside weights_only's list: %s" % (found - ALLOWED)
    assert stored, "a record is compressed"


def check_state_dict(what, sd, model, want=None):
    """sd loads strictly into model with the reference's key order; equal to want if given."""
    keys = list(strip(sd).keys())
    ref_keys = list(model.state_dict().keys())
    assert keys == ref_keys, "%s: key order differs from the reference:\n%s\n%s" % (what, keys, ref_keys)
    model.load_state_dict(strip(sd), strict=True)
    for k, v in strip(sd).items():
        r = model.state_dict()[k]
        assert v.dtype == r.dtype and v.shape == r.shape, (what, k, v.dtype, r.dtype, v.shape, r.shape)
    if want is None:
        return 0.0
    assert list(want.keys()) == list(sd.keys()), "%s: keys differ from the golden's" % what
    fb = 0.0
    for k, v in sd.items():
        w = want[k]
        assert v.dtype == w.dtype and v.shape == w.shape, (what, k)
        if k.endswith("Hz_fbank"):
            fb = float((v - w).abs().max())
            assert fb <= 1e-6, (what, k, fb)
        else:
            assert torch.equal(v, w), "%s: %s differs" % (what, k)
    return fb


def check_optimizer(what, opt_sd, model, want=None):
    """opt_sd indexes model.parameters(): every moment shaped like its parameter, none
    for dead parameters; equal to want index by index if given."""
    params = list(model.named_parameters())
    ids = [i for g in opt_sd["param_groups"] for i in g["params"]]
    assert ids == list(range(len(params))), "%s: %d indices for %d parameters" % (what, len(ids), len(params))
    dead = dead_names(model)
    for i, st in opt_sd["state"].items():
        name, p = params[i]
        assert name not in dead, "%s: state for the dead parameter %s" % (what, name)
        for k in ("exp_avg", "exp_avg_sq"):
            assert st[k].shape == p.shape, "%s: state %d (%s) %s %s, parameter %s" % (
                what, i, name, k, tuple(st[k].shape), tuple(p.shape))
    if want is not None:
        # tgan imports a parameter without state as zero moments (pth.readAdam), which
        # export writes back as state: those extra entries must be zero.
        assert set(want["state"]) <= set(opt_sd["state"]), "%s: state indices" % what
        for i in set(opt_sd["state"]) - set(want["state"]):
            st = opt_sd["state"][i]
            assert not st["exp_avg"].any() and not st["exp_avg_sq"].any(), "%s: state %d" % (what, i)
        for i, st in want["state"].items():
            for k in ("exp_avg", "exp_avg_sq"):
                assert torch.equal(opt_sd["state"][i][k], st[k]), "%s: state %d %s" % (what, i, k)
            assert float(opt_sd["state"][i]["step"]) == float(st["step"]), "%s: step" % what
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    opt.load_state_dict(opt_sd)
    return "%d/%d/%d" % (len(opt_sd["state"]), len(params), len(dead))


def golden_case(name, args):
    gdir = os.path.join(REPO, "testdata", "golden", name)
    cfg = json.load(open(os.path.join(gdir, "case.json")))
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    ck_path, out = os.path.join(work, "ck.safetensors"), os.path.join(work, "export.pth")
    run(args.tgan, "import", "--out", ck_path, os.path.join(gdir, "official.pth"))
    run(args.tgan, "export", "--pth", out, ck_path)
    check_layout(out)
    got = torch.load(out, map_location="cpu")
    want = torch.load(os.path.join(gdir, "official.pth"), map_location="cpu")
    for k in TOP:
        assert k in got, k
    assert (got["gen_model"], got["dis_model"]) == (want["gen_model"], want["dis_model"]), \
        (got["gen_model"], got["dis_model"], want["gen_model"], want["dis_model"])
    G, D = ref.build(cfg)
    G_avg, _ = ref.build(cfg)
    fb = 0.0
    for key, model in (("gen_state_dict", G), ("avg_gen_state_dict", G_avg), ("dis_state_dict", D)):
        fb = max(fb, check_state_dict(name + " " + key, got[key], model, want[key]))
    counts = [check_optimizer(name + " " + key, got[key], model, want[key])
              for key, model in (("gen_optimizer", G), ("dis_optimizer", D))]
    assert torch.equal(got["fixed_z"], want["fixed_z"]) and got["epoch"] == want["epoch"]
    print("A %s: %s + %s; state dicts equal the golden's (keys, order, dtypes, values; Hz_fbank "
          "max |diff| %.2g), strict loads; Adam (state/params/dead) G %s D %s, states equal the golden's" % (
              name, got["gen_model"], got["dis_model"], fb, counts[0], counts[1]))


def go_case(name, args, variants=(("", False), ("_module", True))):
    cfg = json.load(open(os.path.join(args.go_files, name + ".json")))
    for suffix, prefixed in variants:
        path = os.path.join(args.go_files, name + suffix + ".pth")
        check_layout(path)
        got = torch.load(path, map_location="cpu")
        assert next(iter(got["gen_state_dict"])).startswith("module.") == prefixed
        G, D = ref.build(cfg)
        G_avg, _ = ref.build(cfg)
        for key, model in (("gen_state_dict", G), ("avg_gen_state_dict", G_avg), ("dis_state_dict", D)):
            check_state_dict(name + " " + key, got[key], model)
        if cfg.get("d_filter_bank"):
            fb = float((D.Hz_fbank - ref.hz_fbank()).abs().max())
            assert fb <= 1e-6, fb
        counts = [check_optimizer(name + " " + key, got[key], model)
                  for key, model in (("gen_optimizer", G), ("dis_optimizer", D))]
        n = [sum(t.numel() for t in m.parameters()) for m in (G, D)]
        print("B %s%s: strict loads in reference order (G %d, D %d parameters); Adam (state/params/dead) G %s D %s" % (
            name, suffix, n[0], n[1], counts[0], counts[1]))
        del got, G, G_avg, D


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tgan", required=True, help="tgan binary")
    ap.add_argument("--work", default="/tmp/pthhires")
    ap.add_argument("--go-files", default="", help="folder of TestWriteHiresForReference's files "
                    "(default: WORK/go, written here with go test)")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--full", action="store_true",
                    help="instead: Go exports of the four presets at full size (random weights, no Adam "
                    "state, ~6 GB of files) load strictly into the reference built at the preset")
    args = ap.parse_args()
    if args.full:
        if not args.go_files:
            args.go_files = os.path.join(args.work, "full")
            os.makedirs(args.go_files, exist_ok=True)
            run("go", "test", "./internal/checkpoint/pth", "-run", "TestWriteHiresForReference", "-count=1", "-timeout", "30m",
                cwd=REPO, env=dict(os.environ, TGAN_HIRES_PTH=args.go_files, TGAN_HIRES_PTH_FULL="1"))
        for name in FULL:
            go_case(name, args, variants=(("", True),))
        print("all checks passed")
        return
    cases = args.cases.split(",")
    for name in cases:
        golden_case(name, args)
    if not args.go_files:
        args.go_files = os.path.join(args.work, "go")
        os.makedirs(args.go_files, exist_ok=True)
        run("go", "test", "./internal/checkpoint/pth", "-run", "TestWriteHiresForReference", "-count=1", cwd=REPO,
            env=dict(os.environ, TGAN_HIRES_PTH=args.go_files))
    for name in cases:
        go_case(name, args)
    print("all checks passed")


if __name__ == "__main__":
    main()
