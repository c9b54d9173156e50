#!/usr/bin/python3
"""Independent reference of precision, recall, density and coverage, and the
fixtures internal/eval/metrics/prdc_test.go checks against.

Run with Debian's interpreter (numpy only):

    /usr/bin/python3 testdata/ref/prdc_ref.py

It writes internal/eval/metrics/testdata/prdc.json (deterministic: the features
come from an integer hash, so reruns give the same file; Go tests never run
Python).

The definitions, straight from the papers, with plain numpy and none of
tgan's tricks (no BLAS expansion of distances, no tiling, no heaps):

  dist(x, y)   Euclidean, float64, from the differences x - y
  radius(x)    distance from x to its k-th nearest neighbour among the
               other points of its own set (x's own entry removed; a
               duplicate of x is a neighbour at distance 0)
  ball(x)      { y : dist(x, y) <= radius(x) }   (closed: "<=")

  precision = mean over fake j of [fake_j in some real ball]
              (Kynkaanniemi et al. 2019, "Improved precision and recall")
  recall    = mean over real i of [real_i in some fake ball]
  density   = 1/(k M) * sum_j sum_i [fake_j in ball(real_i)]
              (Naeem et al. 2020, "Reliable fidelity and diversity metrics")
  coverage  = mean over real i of [some fake_j in ball(real_i)]

k must be smaller than each set's size (a point has n-1 others); otherwise
the case records an error naming the set.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "internal", "metrics", "testdata", "prdc.json")
M32 = 2**32


def uniform(n, d, seed):
    """(n, d) values in [-0.5, 0.5): an integer hash of (row, column, seed)."""
    i = np.arange(n, dtype=np.uint64)[:, None]
    c = np.arange(d, dtype=np.uint64)[None, :]
    h = ((i * np.uint64(d) + c) * np.uint64(2654435761) + np.uint64(seed * 40503)) % np.uint64(M32)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) % np.uint64(M32)
    h ^= h >> np.uint64(13)
    return h.astype(np.float64) / M32 - 0.5


def smooth(n, d, seed, scale=1.0, shift=0.0):
    return (uniform(n, d, seed) * scale + shift).astype(np.float32)


def grid(n, d, seed, levels):
    """Small integers 0..levels-1: exact distances, many ties and duplicates."""
    return np.floor((uniform(n, d, seed) + 0.5) * levels).astype(np.float32)


def distances(x, y):
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1))


def radii(x, k):
    n = len(x)
    if k >= n:
        raise ValueError("k = %d needs at least %d feature vectors, have %d" % (k, k + 1, n))
    d = distances(x, x)
    out = np.empty(n)
    for i in range(n):
        others = np.delete(d[i], i)
        out[i] = np.sort(others)[k - 1]
    return out


def prdc(real, fake, k):
    try:
        rr = radii(real, k)
    except ValueError as e:
        return {"error": "real", "message": str(e)}
    try:
        fr = radii(fake, k)
    except ValueError as e:
        return {"error": "generated", "message": str(e)}
    d = distances(real, fake)  # (N, M)
    in_real_ball = d <= rr[:, None]  # [i, j]: fake j in ball(real i)
    in_fake_ball = d <= fr[None, :]  # [i, j]: real i in ball(fake j)
    n, m = d.shape
    return {
        "precision": float(in_real_ball.any(axis=0).sum() / m),
        "recall": float(in_fake_ball.any(axis=1).sum() / n),
        "density": float(in_real_ball.sum() / (k * m)),
        "coverage": float(in_real_ball.any(axis=1).sum() / n),
        "real_radii": [float(v) for v in rr],
    }


def case(name, real, fake, ks, tile=0):
    return {
        "name": name, "d": int(real.shape[1]), "tile": tile,
        "real": [float(v) for v in real.ravel()], "n_real": int(len(real)),
        "fake": [float(v) for v in fake.ravel()], "n_fake": int(len(fake)),
        "results": [dict(k=k, **prdc(real, fake, k)) for k in ks],
    }


def main():
    cases = [
        # Continuous features, overlapping but different distributions.
        case("smooth", smooth(40, 5, 1), smooth(30, 5, 2, scale=1.3, shift=0.15), [1, 3, 7]),
        # Integer features: exact distances, radii equal to other distances
        # (ties decided by "<="), duplicated points (radius 0).
        case("ties", grid(25, 3, 3, 5), grid(20, 3, 4, 5), [1, 3, 5]),
        case("ties_binary", grid(16, 4, 5, 2), grid(12, 4, 6, 2), [1, 2, 3]),
        # k as large as the small set allows (5 = 6 - 1), then larger than it
        # (6: generated), and larger than the real set (30).
        case("k_vs_sizes", smooth(30, 4, 7), smooth(6, 4, 8), [5, 6, 30]),
        # Far apart: nothing inside anything.
        case("disjoint", smooth(20, 4, 9), smooth(15, 4, 10, shift=5.0), [3]),
        # Enough points to cross many tiles when the Go test shrinks them.
        case("tiled", smooth(150, 6, 11), smooth(130, 6, 12, scale=0.8, shift=0.05), [4], tile=7),
    ]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "testdata/ref/prdc_ref.py", "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    for c in cases:
        for r in c["results"]:
            if "error" in r:
                print("%-12s k=%-2d error (%s): %s" % (c["name"], r["k"], r["error"], r["message"]))
            else:
                print("%-12s k=%-2d P %.4f R %.4f D %.4f C %.4f" % (
                    c["name"], r["k"], r["precision"], r["recall"], r["density"], r["coverage"]))
    print("wrote", os.path.relpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
