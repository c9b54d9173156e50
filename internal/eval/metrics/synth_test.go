package metrics

import (
	"math"

	"gonum.org/v1/gonum/blas"
)

// synthUniform is the deterministic "random" value in [-0.5, 0.5) that
// testdata/eval/make_fid_golden.py computes identically: integer hashing
// modulo 2^32, then an exact division.
func synthUniform(i, k, n, seed int) float64 {
	h := uint32(i*n+k)*2654435761 + uint32(seed)*40503
	h ^= h >> 15
	h *= 2246822519
	h ^= h >> 13
	return float64(h)/4294967296 - 0.5
}

// synthStats rebuilds the statistics of make_fid_golden.py:
// A[i,k] = u(i,k) * exp(-decay*i/d) for a (d, n) matrix A, sigma = A A^T / n,
// mu[i] = u(i, n, seed+1000)/16 (with row length n+1).
func synthStats(d, n, seed int, decay float64) *Stats {
	a := make([]float64, d*n)
	for i := 0; i < d; i++ {
		s := math.Exp(-decay * float64(i) / float64(d))
		for k := 0; k < n; k++ {
			a[i*n+k] = synthUniform(i, k, n, seed) * s
		}
	}
	sigma := make([]float64, d*d)
	blasImpl.Dgemm(blas.NoTrans, blas.Trans, d, d, n, 1/float64(n), a, n, a, n, 0, sigma, d)
	for i := 0; i < d; i++ { // the same symmetric matrix numpy's A @ A.T gives, up to rounding
		for j := i + 1; j < d; j++ {
			sigma[j*d+i] = sigma[i*d+j]
		}
	}
	mu := make([]float64, d)
	for i := range mu {
		mu[i] = synthUniform(i, n, n+1, seed+1000) / 16
	}
	return &Stats{Mu: mu, Sigma: sigma}
}
