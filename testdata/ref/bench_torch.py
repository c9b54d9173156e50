"""Time the reference PyTorch generator (testdata/ref/transgan_ref.py) as the
anchor for tgan's speed numbers (BENCHMARKS.md).

  /usr/bin/python3 testdata/ref/bench_torch.py --preset s --batches 32            # CPU, 2 threads
  python3 testdata/ref/bench_torch.py --preset final-cifar --device cuda --compile  # GPU
  python3 testdata/ref/bench_torch.py --preset s,xl,final-cifar --device cuda \\
      --dtype fp32,fp16 --modes compile --batches 32,256 --wait-for /tmp/quiet    # scripts/gpu_pending.sh

Prints one line per (mode, dtype, batch): seconds per batch and images/s; --json
appends the same as JSON lines (the fields of `tgan bench --json`; fp16 lines have
"precision": "fp16" and " fp16" after the model name, as tgan's do).

--dtype fp16 runs the whole generator in float16 (G.half(), like tgan's --fp16
export), or under autocast where .half() fails; --dtype tf32 is fp32 with TF32
matrix products allowed (PyTorch's default is off, ONNX Runtime's CUDA provider
defaults to on), reported as precision "tf32". --wait-for FILE first builds and
warms up (compiles) the cases until FILE exists, waits for it (at most
--wait-timeout seconds), then times them and warms up and times the rest:
compilation can overlap other work on the machine while the timings do not.
"""
import argparse, copy, json, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref  # noqa: E402

PRESETS = {  # the generator fields of tgan's presets (model/presets.go)
    "s": dict(version="v1", latent_dim=1024, g_dim=384, bottom_width=8, g_depths=[5, 2, 2]),
    "xl": dict(version="v1", latent_dim=1024, g_dim=1024, bottom_width=8, g_depths=[5, 4, 2]),
    "v1-cifar": dict(version="v1", latent_dim=1024, g_dim=1024, bottom_width=8, g_depths=[5, 4, 2]),
    "final-cifar": dict(version="final", latent_dim=256, g_dim=1024, bottom_width=8, g_depths=[5, 4, 2]),
    "tiny": dict(version="v1", latent_dim=64, g_dim=256, bottom_width=4, g_depths=[2, 1, 1]),
}


def timed(fn, z, iters, sync):
    fn(z); sync()  # warm-up (and compilation)
    start = time.perf_counter()
    for _ in range(iters):
        fn(z)
    sync()
    return (time.perf_counter() - start) / iters


def variants(G, dtypes, device):
    """(dtype, model, autocast) for each requested dtype; .half() on a copy."""
    out = []
    for dt in dtypes:
        if dt in ("fp32", "tf32"):
            out.append((dt, G, False))
            continue
        try:
            G16 = copy.deepcopy(G).half()
            with torch.no_grad():
                G16(torch.randn(1, G.l1.in_features, device=device).half(), None)
            out.append(("fp16", G16, False))
        except Exception as e:  # some op without a float16 kernel on this device
            print(f".half() failed ({e}); fp16 through autocast", flush=True)
            out.append(("fp16", G, True))
    return out


def cases(a, device):
    """Every (preset, mode, dtype, batch) with its callable and input."""
    for preset in a.preset.split(","):
        cfg = dict(PRESETS[preset], image_size=32, d_kind="vit", d_dim=384, d_depth=1, d_patch=4)
        G, _ = transgan_ref.build(cfg)
        G = G.to(device).eval()
        for dt, model, autocast in variants(G, a.dtype.split(","), device):
            for mode in a.modes.split(","):
                if mode == "eager":
                    fn = lambda x, m=model: m(x, None)  # noqa: E731
                else:
                    try:
                        fn = torch.compile(model)
                    except Exception as e:  # torch 1.13 has no torch.compile
                        print(f"{preset} torch.compile unavailable: {e}", flush=True)
                        continue
                if autocast:
                    fn = lambda x, f=fn: _autocast(f, x, device)  # noqa: E731
                if dt == "tf32":
                    fn = lambda x, f=fn: _tf32(f, x)  # noqa: E731
                for b in [int(x) for x in a.batches.split(",")]:
                    z = torch.randn(b, cfg["latent_dim"], device=device)
                    if dt == "fp16" and not autocast:
                        z = z.half()
                    yield preset, mode + (" autocast" if autocast else ""), dt, b, fn, z


def _autocast(fn, x, device):
    with torch.autocast(device.split(":")[0], dtype=torch.float16):
        return fn(x)


def _tf32(fn, x):
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        return fn(x)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="s", help="comma-separated: " + ", ".join(sorted(PRESETS)))
    ap.add_argument("--batches", default="32")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (adds it to --modes)")
    ap.add_argument("--modes", default="eager", help="comma-separated: eager, compile")
    ap.add_argument("--dtype", default="fp32", help="comma-separated: fp32, tf32, fp16")
    ap.add_argument("--wait-for", help="warm up every case, then wait for this file before timing")
    ap.add_argument("--wait-timeout", type=float, default=600)
    ap.add_argument("--json", help="append results as JSON lines")
    a = ap.parse_args()
    for p in a.preset.split(","):
        if p not in PRESETS:
            ap.error(f"--preset {p}: want one of {', '.join(sorted(PRESETS))}")
    if a.compile and "compile" not in a.modes.split(","):
        a.modes += ",compile"
    torch.set_num_threads(a.threads)
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    todo = list(cases(a, a.device))
    if a.wait_for:  # compile and warm up first; time once the file appears
        ready, t0 = [], time.perf_counter()
        while todo and not os.path.exists(a.wait_for):
            c = todo.pop(0)
            t1 = time.perf_counter()
            try:
                with torch.no_grad():
                    c[4](c[5]); sync()
            except Exception as e:
                print(f"{c[0]} torch-{c[1]} {c[2]} batch {c[3]}: failed: {e}", flush=True)
                continue
            print(f"warmed {c[0]} {c[1]} {c[2]} batch {c[3]} in {time.perf_counter() - t1:.1f} s", flush=True)
            ready.append(c)
        while not os.path.exists(a.wait_for) and time.perf_counter() - t0 < a.wait_timeout:
            time.sleep(0.5)
        print(f"warm-up and wait for {a.wait_for}: {time.perf_counter() - t0:.1f} s; {len(ready)} cases warm, "
              f"{len(todo)} to warm and time now", flush=True)
        todo = ready + todo  # the rest warm up inside timed()
    for preset, mode, dt, b, fn, z in todo:
        with torch.no_grad():
            try:
                sec = timed(fn, z, a.iters, sync)
            except Exception as e:
                print(f"{preset} torch-{mode} {dt} batch {b}: failed: {e}", flush=True)
                continue
        model = "preset " + preset + (" fp16" if dt == "fp16" else "")
        r = dict(model=model, backend=f"pytorch {torch.__version__} {mode} {a.device}",
                 batch=b, seconds_per_batch=sec, images_per_second=b / sec)
        if dt != "fp32":
            r["precision"] = dt
        print(f"{r['model']:28s} {r['backend']:40s} batch {b:4d}  {sec:9.4f} s/batch  {b/sec:9.1f} img/s", flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
