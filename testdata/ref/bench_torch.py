"""Time the reference PyTorch generator (testdata/ref/transgan_ref.py) as the
anchor for tgan's speed numbers (BENCHMARKS.md).

  /usr/bin/python3 testdata/ref/bench_torch.py --preset s --batches 32            # CPU, 2 threads
  python3 testdata/ref/bench_torch.py --preset final-cifar --device cuda --compile  # GPU

Prints one line per (mode, batch): seconds per batch and images/s.
"""
import argparse, json, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transgan_ref  # noqa: E402

PRESETS = {  # the generator fields of tgan's presets (model/presets.go)
    "s": dict(version="v1", latent_dim=1024, g_dim=384, bottom_width=8, g_depths=[5, 2, 2]),
    "v1-cifar": dict(version="v1", latent_dim=1024, g_dim=1024, bottom_width=8, g_depths=[5, 4, 2]),
    "final-cifar": dict(version="final", latent_dim=256, g_dim=1024, bottom_width=8, g_depths=[5, 4, 2]),
}


def timed(fn, z, iters, sync):
    fn(z); sync()  # warm-up (and compilation)
    start = time.perf_counter()
    for _ in range(iters):
        fn(z)
    sync()
    return (time.perf_counter() - start) / iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="s", choices=sorted(PRESETS))
    ap.add_argument("--batches", default="32")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--json", help="append results as JSON lines")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = dict(PRESETS[a.preset], image_size=32, d_kind="vit", d_dim=384, d_depth=1, d_patch=4)
    G, _ = transgan_ref.build(cfg)
    G = G.to(a.device).eval()
    sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
    modes = [("eager", G)]
    if a.compile:
        try:
            modes.append(("compile", torch.compile(G)))
        except Exception as e:  # torch 1.13 has no torch.compile
            print("torch.compile unavailable:", e)
    for mode, fn in modes:
        for b in [int(x) for x in a.batches.split(",")]:
            z = torch.randn(b, cfg["latent_dim"], device=a.device)
            with torch.no_grad():
                try:
                    sec = timed(lambda x: fn(x, None) if mode == "eager" else fn(x), z, a.iters, sync)
                except Exception as e:
                    print(f"{a.preset} torch-{mode} batch {b}: failed: {e}")
                    continue
            r = dict(model="preset " + a.preset, backend=f"pytorch {torch.__version__} {mode} {a.device}",
                     batch=b, seconds_per_batch=sec, images_per_second=b / sec)
            print(f"{r['model']:28s} {r['backend']:40s} batch {b:4d}  {sec:9.4f} s/batch  {b/sec:9.1f} img/s", flush=True)
            if a.json:
                with open(a.json, "a") as f:
                    f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
