#!/usr/bin/python3
"""Write the FID goldens that internal/eval/metrics and cmd/tgan tests check.

Run with Debian's interpreter (numpy, scipy):

    /usr/bin/python3 testdata/eval/make_fid_golden.py

The statistics come from a deterministic integer formula that the Go tests
rebuild exactly (internal/eval/metrics/synth_test.go), so no 32 MB 2048-d .npz
needs committing:

    u(i, k; n, seed) = hash32((i*n + k)*2654435761 + seed*40503) / 2^32 - 0.5
    A[i, k] = u(i, k; n, seed) * exp(-decay * i / d)      A is (d, n)
    sigma   = A @ A.T / n
    mu[i]   = u(i, n; n+1, seed+1000) / 16

FID is pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm), and
"tr_covmean" its Tr(sqrtm(sigma1 sigma2)) term;
"fid_eigh" is the same quantity through a symmetric eigendecomposition, as a
check that scipy's sqrtm was accurate for the case.

Outputs, next to this script:
  fid_golden.json   one entry per case: d, n, seeds, decay, fid, tr_covmean,
                    fid_eigh
  ttur_a.npz        the "d64-decay" pair in TTUR format (np.savez_compressed,
  ttur_b.npz        float64 mu and sigma), for the .npz reading tests
"""
import json
import os
import time

import numpy as np
from scipy import linalg

HERE = os.path.dirname(os.path.abspath(__file__))
M32 = 2**32

CASES = [
    # name, d, n, seed1, seed2, decay
    ("d64-flat", 64, 96, 1, 2, 0.0),
    ("d64-decay", 64, 96, 3, 4, 8.0),
    ("d64-rank40", 64, 40, 5, 6, 2.0),
    ("d2048-decay", 2048, 3072, 1, 2, 8.0),
]


def uniform(d, n, seed, rows, cols):
    """u(i, k) for i in rows, k in cols (integer arrays), as float64."""
    i = rows.astype(np.uint64)[:, None]
    k = cols.astype(np.uint64)[None, :]
    h = ((i * np.uint64(n) + k) * np.uint64(2654435761) + np.uint64(seed * 40503)) % np.uint64(M32)
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(2246822519)) % np.uint64(M32)
    h ^= h >> np.uint64(13)
    return h.astype(np.float64) / M32 - 0.5


def synth(d, n, seed, decay):
    a = uniform(d, n, seed, np.arange(d), np.arange(n))
    a *= np.exp(-decay * np.arange(d) / d)[:, None]
    sigma = a @ a.T / n
    mu = uniform(d, n + 1, seed + 1000, np.arange(d), np.array([n]))[:, 0] / 16
    return mu, sigma


def fid_pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid 0.3's calculate_frechet_distance, verbatim in substance."""
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("imaginary component %g" % np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    tr_covmean = np.trace(covmean)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean), float(tr_covmean)


def fid_eigh(mu1, sigma1, mu2, sigma2):
    l, v = np.linalg.eigh(sigma1)
    root = (v * np.sqrt(np.clip(l, 0, None))) @ v.T
    ev = np.linalg.eigvalsh(root @ sigma2 @ root)
    tr = np.sqrt(np.clip(ev, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr)


def main():
    out = []
    for name, d, n, s1, s2, decay in CASES:
        mu1, sig1 = synth(d, n, s1, decay)
        mu2, sig2 = synth(d, n, s2, decay)
        t = time.time()
        fid, tr = fid_pytorch_fid(mu1, sig1, mu2, sig2)
        took = time.time() - t
        fe = fid_eigh(mu1, sig1, mu2, sig2)
        print("%-12s fid %.12g (scipy sqrtm, %.1fs)  eigh %.12g  rel %.2g"
              % (name, fid, took, fe, abs(fid - fe) / abs(fid)))
        out.append({"name": name, "d": d, "n": n, "seed1": s1, "seed2": s2,
                    "decay": decay, "fid": fid, "tr_covmean": tr, "fid_eigh": fe})
        if name == "d64-decay":
            np.savez_compressed(os.path.join(HERE, "ttur_a.npz"), mu=mu1, sigma=sig1)
            np.savez_compressed(os.path.join(HERE, "ttur_b.npz"), mu=mu2, sigma=sig2)
    with open(os.path.join(HERE, "fid_golden.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote fid_golden.json, ttur_a.npz, ttur_b.npz")


if __name__ == "__main__":
    main()
