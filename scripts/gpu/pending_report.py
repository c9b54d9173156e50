"""Parsers and the summary for scripts/gpu_pending.sh (issues 10 and 12 on a GPU).

Every subcommand appends JSON lines to the results file (--json) or writes text:

  tag IN.jsonl --json R.jsonl KEY=VALUE...     copy tgan bench --json lines, adding fields
  train-speed RUN --preset P --batch B --backend NAME --json R.jsonl
                                               seconds per iteration of a `tgan train --n-critic 1`
                                               run, from metrics.jsonl's train_s (first G steps
                                               skipped: session creation, first allocations)
  compare RUN_A RUN_B --label L --json R.jsonl losses, clipped gradients (Adam m, beta1 = 0),
                                               weights and EMA of two runs' latest checkpoints
  kernels RAW.txt --case C --json R.jsonl      ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1 lines:
                                               the attention kernel of each node
  profile DIR --out FILE                       ONNX Runtime profiles (TGAN_ORT_PROFILE): provider,
                                               op kind, nodes and host time per run
  cifar RUN --json R.jsonl [--copy-to OUT]     first/last losses and sample-grid difference
  summary R.jsonl --out FILE                   the tables of BENCHMARKS.md's GPU sections

Needs only Python 3 and numpy (numpy for `compare`).
"""
import argparse, collections, glob, json, os, re, struct, sys, zlib


def append(path, rec):
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def read_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                print(f"{path}: skipped a line that is not JSON: {line[:80]}", file=sys.stderr)
    return out


# ---------------------------------------------------------------- tag

def cmd_tag(a):
    extra = dict(kv.split("=", 1) for kv in a.fields)
    n = 0
    for r in read_jsonl(a.input):
        r.update(extra)
        append(a.json, r)
        n += 1
    print(f"tag: {n} lines from {a.input} {extra}")


# ---------------------------------------------------------------- train-speed

def cmd_train_speed(a):
    rows = read_jsonl(os.path.join(a.run, "metrics.jsonl"))
    if len(rows) <= a.skip + 1:
        print(f"train-speed: {a.run}: {len(rows)} G steps, need more than {a.skip + 1}")
        append(a.json, dict(kind="train", preset=a.preset, backend=a.backend, batch=a.batch, error="too few steps"))
        return
    first, last = rows[a.skip], rows[-1]
    iters = last["iteration"] - first["iteration"]
    sec = (last["train_s"] - first["train_s"]) / iters
    r = dict(kind="train", preset=a.preset, backend=a.backend, batch=a.batch,
             seconds_per_iteration=sec, images_per_second=a.batch / sec, iterations_timed=iters,
             first_step_s=rows[0]["train_s"])
    print(f"train {a.preset:12s} {a.backend:28s} batch {a.batch:4d}  {sec:8.4f} s/iter  {a.batch / sec:8.1f} img/s"
          f"  ({iters} iterations; first G step {rows[0]['train_s']:.1f} s)")
    append(a.json, r)


# ---------------------------------------------------------------- compare

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1"}


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    meta = head.pop("__metadata__", {})
    out = {}
    for name, t in head.items():
        if t["dtype"] not in DTYPES:
            continue
        lo, hi = t["data_offsets"]
        out[name] = np.frombuffer(data[lo:hi], dtype=DTYPES[t["dtype"]]).astype(np.float64).reshape(t["shape"])
    return out, meta


def latest_checkpoint(run):
    p = os.path.join(run, "latest")
    if os.path.exists(p):
        name = open(p).read().strip()
        return name if os.path.isabs(name) else os.path.join(run, name)
    cks = sorted(glob.glob(os.path.join(run, "ckpt-*.safetensors")),
                 key=lambda s: int(re.findall(r"ckpt-(\d+)", s)[-1]))
    if not cks:
        raise SystemExit(f"compare: {run}: no checkpoint")
    return cks[-1]


def rel(a, b):
    import numpy as np
    den = float(np.max(np.abs(b))) if b.size else 0.0
    num = float(np.max(np.abs(a - b))) if b.size else 0.0
    return 0.0 if num == 0 else num / max(den, 1e-30)


def cmd_compare(a):
    """Run A against run B (the reference, e.g. the CPU provider)."""
    ta, meta = read_safetensors(latest_checkpoint(a.run_a))
    tb, _ = read_safetensors(latest_checkpoint(a.run_b))
    state = json.loads(meta.get("trainer_state", "{}"))
    beta1 = state.get("options", {}).get("beta1")
    # Per group: the worst tensor's max|a-b|/max|b|, and the group's max|a-b| over its
    # max|b| ("scaled"): a tensor whose values all sit near zero (a gradient that
    # cancels to 1e-6, say) has a large relative error from float32 rounding alone.
    groups = collections.defaultdict(lambda: dict(rel_err=0.0, worst="", num=0.0, den=0.0))
    import numpy as np
    for name, want in tb.items():
        if name not in ta or ta[name].shape != want.shape or name.endswith("num_batches_tracked"):
            continue
        head = name.split(".")[0]
        if head == "opt":  # opt.<net>.<m|v>.<param>
            parts = name.split(".")
            head = f"opt.{parts[1]}.{parts[2]}"
            if parts[2] == "m" and beta1 == 0:
                head = f"grad.{parts[1]} (Adam m, beta1 0)"
        g = groups[head]
        e = rel(ta[name], want)
        if e >= g["rel_err"]:
            g["rel_err"], g["worst"] = e, name
        if want.size:
            g["num"] = max(g["num"], float(np.max(np.abs(ta[name] - want))))
            g["den"] = max(g["den"], float(np.max(np.abs(want))))
    for g in groups.values():
        g["scaled"] = g["num"] / g["den"] if g["den"] else 0.0
    ma, mb = read_jsonl(os.path.join(a.run_a, "metrics.jsonl")), read_jsonl(os.path.join(a.run_b, "metrics.jsonl"))
    losses = {}
    for ra, rb in zip(ma, mb):
        for k in ("d_loss", "g_loss", "gp", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"):
            if k in ra and k in rb:
                e = abs(ra[k] - rb[k]) / max(abs(rb[k]), 1e-12)
                losses[k] = max(losses.get(k, 0.0), e)
    worst_loss = max(losses.values(), default=float("nan"))
    grads = [v for k, v in groups.items() if k.startswith("grad.")]
    worst_grad = max((v["scaled"] for v in grads), default=float("nan"))
    worst_grad_tensor = max((v["rel_err"] for v in grads), default=float("nan"))
    r = dict(kind="train_compare", label=a.label, run=a.run_a, reference=a.run_b, tol=a.tol,
             losses=losses, groups={k: dict(rel_err=v["rel_err"], worst=v["worst"], scaled=v["scaled"])
                                    for k, v in sorted(groups.items())},
             worst_loss_rel=worst_loss, worst_grad_rel=worst_grad, worst_grad_tensor_rel=worst_grad_tensor,
             ok=bool(worst_loss <= a.tol and worst_grad <= a.tol))
    print(f"compare {a.label}: losses max rel {worst_loss:.2g}, clipped gradients max|a-b|/max|b| per network "
          f"{worst_grad:.2g} (per tensor {worst_grad_tensor:.2g}); limit {a.tol:g} -> {'OK' if r['ok'] else 'OVER'}")
    for k, v in sorted(groups.items()):
        print(f"  {k:34s} network {v['scaled']:.2g}, worst tensor {v['rel_err']:.2g} ({v['worst']})")
    append(a.json, r)


# ---------------------------------------------------------------- kernels

ANSI = re.compile(r"\x1b\[[0-9;]*m")
KERNEL = re.compile(r"Operator=(\S+)(?: Node=(\S+))? DataType=(\S+) SdpaKernel=(\S+)")


def cmd_kernels(a):
    per_node, calls = collections.OrderedDict(), collections.Counter()
    options = ""
    if os.path.exists(a.raw):
        for line in open(a.raw, errors="replace"):
            line = ANSI.sub("", line).strip()
            if line.startswith("AttentionKernelOptions:"):
                options = line
            m = KERNEL.search(line)
            if m:
                op, node, dt, k = m.groups()
                desc = f"{op} {dt} {k}"
                seen = per_node.setdefault(node or op, [])
                if desc not in seen:  # a node whose kernel changes between runs lists each
                    seen.append(desc)
                calls[k] += 1
    per_node = {n: " / ".join(d) for n, d in per_node.items()}
    r = dict(kind="attention_kernels", case=a.case, nodes=per_node, calls=dict(calls), options=options)
    print(f"kernels {a.case}: {len(per_node)} attention nodes, kernel calls {dict(calls) or 'none printed'}")
    append(a.json, r)


# ---------------------------------------------------------------- profile

def cmd_profile(a):
    out = []
    for path in sorted(glob.glob(os.path.join(a.dir, "*.json"))):
        try:
            events = json.load(open(path))
        except (OSError, json.JSONDecodeError) as e:
            out.append(f"== {path}: unreadable ({e})")
            continue
        nodes = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
        run_us = [e["dur"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
        runs = max(1, len(run_us))
        by_op = collections.defaultdict(lambda: [0, 0])
        for e in nodes:
            args = e.get("args", {})
            k = (args.get("provider", "?"), args.get("op_name", "?"))
            by_op[k][0] += 1
            by_op[k][1] += e["dur"]
        out.append(f"== {os.path.basename(path)}: {runs} runs, model_run us {run_us}")
        out.append(f"{'provider':26s} {'op':28s} {'nodes/run':>9s} {'host us/run':>11s}")
        for (prov, op), (n, d) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
            out.append(f"{prov:26s} {op:28s} {n / runs:9.1f} {d / runs:11.0f}")
        out.append("")
    if not out:
        out = [f"no profiles in {a.dir}"]
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text, end="")


# ---------------------------------------------------------------- cifar

def png_pixels(path):
    """8-bit RGB/RGBA/gray non-interlaced PNG (what Go's image/png writes) -> bytes, width."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace:
                raise ValueError(f"{path}: bit depth {depth}, interlace {interlace}: unsupported")
            bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, out, prev = zlib.decompress(idat), w * bpp, bytearray(), bytearray(w * bpp)
    for y in range(h):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up, ul = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                row[i] = (row[i] + left) & 255
            elif f == 2:
                row[i] = (row[i] + up) & 255
            elif f == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif f == 4:
                p = left + up - ul
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
                row[i] = (row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else ul)) & 255
        out += row
        prev = row
    return bytes(out), w


def cmd_cifar(a):
    rows = read_jsonl(os.path.join(a.run, "metrics.jsonl"))
    grids = sorted(glob.glob(os.path.join(a.run, "samples-*.png")),
                   key=lambda s: int(re.findall(r"samples-(\d+)", s)[-1]))
    r = dict(kind="cifar_run", run=a.run, g_steps=len(rows), samples=[os.path.basename(g) for g in grids])
    if rows:
        k = max(1, len(rows) // 10)
        mean = lambda rs, key: sum(x[key] for x in rs) / len(rs)  # noqa: E731
        for key in ("d_loss", "g_loss", "gp", "wasserstein"):
            r[f"{key}_first"], r[f"{key}_last"] = mean(rows[:k], key), mean(rows[-k:], key)
        r["iterations"] = rows[-1]["iteration"] + 1
        r["train_s"] = rows[-1]["train_s"]
        r["seconds_per_iteration"] = rows[-1]["train_s"] / max(1, r["iterations"])
    if len(grids) >= 2:
        try:
            p0, w0 = png_pixels(grids[0])
            p1, w1 = png_pixels(grids[-1])
            if w0 == w1 and len(p0) == len(p1):
                r["samples_mean_abs_diff"] = sum(abs(x - y) for x, y in zip(p0, p1)) / len(p0)
        except Exception as e:  # a damaged or unexpected PNG: report, do not fail
            r["samples_error"] = str(e)
    if a.copy_to:
        import shutil
        shutil.copy(os.path.join(a.run, "metrics.jsonl"), os.path.join(a.copy_to, "cifar_metrics.jsonl"))
        if grids:
            shutil.copy(grids[0], os.path.join(a.copy_to, "cifar_samples_first.png"))
            shutil.copy(grids[-1], os.path.join(a.copy_to, "cifar_samples_last.png"))
    print("cifar run:", json.dumps(r))
    append(a.json, r)


# ---------------------------------------------------------------- summary

def fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def cmd_summary(a):
    rs = read_jsonl(a.results)
    out = []
    p = out.append
    # Inference: tgan bench lines carry "form" (fused/standard) from `tag`.
    inf = collections.defaultdict(dict)
    errs = {}
    for r in rs:
        if "images_per_second" not in r or r.get("kind"):
            continue
        m = r["model"]
        dt = r.get("precision") or ("fp16" if m.endswith(" fp16") else "fp32")
        preset = m.removeprefix("preset ").removesuffix(" fp16")
        key = (preset, dt, r["batch"])
        b = r["backend"]
        if dt == "tf32":  # PyTorch fp32 with TF32 matrix products: beside fp32
            key = (preset, "fp32", r["batch"])
        if b.startswith("pytorch"):
            col = ("compile" if " compile" in b else "eager") + ("_tf32" if dt == "tf32" else "")
        else:
            col = "ort_" + r.get("form", "fused") + ("" if b.endswith("cuda") else "_" + b.split()[-1])
            if r.get("rel_err_vs_cpu"):
                errs[key] = r["rel_err_vs_cpu"]
        inf[key][col] = r["images_per_second"]
    if inf:
        cols = sorted({c for v in inf.values() for c in v if c.startswith("ort_")})
        p("## Inference: images/s (G forward)")
        p("")
        p("ORT's CUDA provider runs fp32 GEMMs in TF32 by default; PyTorch does not (eager tf32: TF32 allowed).")
        p("")
        p("| preset | dtype | batch | " + " | ".join(cols) + " | PyTorch eager | eager tf32 | torch.compile | ORT / eager | rel err vs CPU |")
        p("|---|---|---|" + "---|" * len(cols) + "---|---|---|---|---|")
        for key in sorted(inf, key=lambda k: (k[0], k[1], k[2])):
            v = inf[key]
            ort = v.get(cols[0]) if cols else None
            ratio = ort / v["eager"] if ort and v.get("eager") else None
            p(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(fmt(v.get(c)) for c in cols) +
              f" | {fmt(v.get('eager'))} | {fmt(v.get('eager_tf32'))} | {fmt(v.get('compile'))} | {fmt(ratio, '.2f')}"
              f"{'' if ratio is None else (' ok' if ratio >= 1 else ' LOW')} | {fmt(errs.get(key), '.2g')} |")
        p("")
    ks = [r for r in rs if r.get("kind") == "attention_kernels"]
    if ks:
        p("## Attention kernel per node (ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1)")
        p("")
        for r in ks:
            p(f"- {r['case']}: kernel calls {r['calls'] or 'none printed (no CUDA attention node ran)'}")
            by = collections.defaultdict(list)
            for node, desc in r["nodes"].items():
                by[desc].append(node)
            for desc, nodes in by.items():
                p(f"    {desc}: {len(nodes)} nodes ({', '.join(nodes[:4])}{', ...' if len(nodes) > 4 else ''})")
        opts = next((r["options"] for r in ks if r.get("options")), "")
        if opts:
            p(f"  {opts}")
        p("")
    tr = [r for r in rs if r.get("kind") == "train"]
    if tr:
        p("## Training: one D step (penalty) + one G step per iteration, images/s = batch / s per iteration")
        p("")
        p("| preset | batch | backend | s / iteration | images/s |")
        p("|---|---|---|---|---|")
        for r in sorted(tr, key=lambda r: (r["preset"], r["batch"], r["backend"])):
            p(f"| {r['preset']} | {r['batch']} | {r['backend']} | {fmt(r.get('seconds_per_iteration'), '.4f')} | "
              f"{fmt(r.get('images_per_second'), '.1f')} |")
        p("")
        pairs = collections.defaultdict(dict)
        for r in tr:
            if r.get("images_per_second"):
                pairs[(r["preset"], r["batch"])]["torch" if r["backend"].startswith("pytorch") else "tgan"] = r["images_per_second"]
        for (pr, b), v in sorted(pairs.items()):
            if "torch" in v and "tgan" in v:
                p(f"- {pr} batch {b}: tgan / PyTorch eager = {v['tgan'] / v['torch']:.2f}")
        p("")
    for r in rs:
        if r.get("kind") == "train_compare":
            p(f"## One training iteration, {r['label']}: {'within' if r['ok'] else 'NOT within'} {r['tol']:g}")
            p("")
            p(f"losses max rel {r['worst_loss_rel']:.2g}; clipped gradients max|a-b|/max|b| per network "
              f"{r['worst_grad_rel']:.2g} (worst single tensor {r['worst_grad_tensor_rel']:.2g})")
            for k, v in r["groups"].items():
                p(f"- {k}: network {v['scaled']:.2g}, worst tensor {v['rel_err']:.2g} ({v['worst']})")
            p("")
        if r.get("kind") == "cifar_run":
            p(f"## CIFAR-10 run: {r.get('g_steps', 0)} G steps, {r.get('iterations', 0)} iterations in "
              f"{fmt(r.get('train_s'), '.0f')} s")
            p("")
            for key in ("d_loss", "g_loss", "gp", "wasserstein"):
                if f"{key}_first" in r:
                    p(f"- {key}: first {r[key + '_first']:.4g} -> last {r[key + '_last']:.4g}")
            p(f"- sample grids {r.get('samples')}; mean |last - first| "
              f"{fmt(r.get('samples_mean_abs_diff'), '.1f')} of 255")
            p("")
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text, end="")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("tag")
    s.add_argument("input"); s.add_argument("fields", nargs="*"); s.add_argument("--json", required=True)
    s = sub.add_parser("train-speed")
    s.add_argument("run"); s.add_argument("--preset", required=True); s.add_argument("--batch", type=int, required=True)
    s.add_argument("--backend", required=True); s.add_argument("--skip", type=int, default=2)
    s.add_argument("--json", required=True)
    s = sub.add_parser("compare")
    s.add_argument("run_a"); s.add_argument("run_b"); s.add_argument("--label", required=True)
    s.add_argument("--tol", type=float, default=1e-3); s.add_argument("--json", required=True)
    s = sub.add_parser("kernels")
    s.add_argument("raw"); s.add_argument("--case", required=True); s.add_argument("--json", required=True)
    s = sub.add_parser("profile")
    s.add_argument("dir"); s.add_argument("--out", required=True)
    s = sub.add_parser("cifar")
    s.add_argument("run"); s.add_argument("--json", required=True); s.add_argument("--copy-to")
    s = sub.add_parser("summary")
    s.add_argument("results"); s.add_argument("--out", required=True)
    a = ap.parse_args()
    {"tag": cmd_tag, "train-speed": cmd_train_speed, "compare": cmd_compare, "kernels": cmd_kernels,
     "profile": cmd_profile, "cifar": cmd_cifar, "summary": cmd_summary}[a.cmd](a)


if __name__ == "__main__":
    main()
