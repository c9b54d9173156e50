package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
)

// FrechetDistance returns the Fréchet Inception Distance between two
// Gaussians given by their statistics:
//
//	||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr(sqrtm(S1 S2))
//
// It is the value of pytorch-fid's calculate_frechet_distance (and TTUR's),
// computed without scipy's sqrtm: see [TraceSqrtProduct].
func FrechetDistance(a, b *Stats) (float64, error) {
	if err := a.check(); err != nil {
		return 0, fmt.Errorf("fid: first statistics: %w", err)
	}
	if err := b.check(); err != nil {
		return 0, fmt.Errorf("fid: second statistics: %w", err)
	}
	d := a.Dim()
	if b.Dim() != d {
		return 0, fmt.Errorf("fid: statistics of dimension %d and %d", d, b.Dim())
	}
	diff := 0.0
	for i := range a.Mu {
		x := a.Mu[i] - b.Mu[i]
		diff += x * x
	}
	tr, err := TraceSqrtProduct(a.Sigma, b.Sigma, d)
	if err != nil {
		return 0, fmt.Errorf("fid: %w", err)
	}
	return diff + trace(a.Sigma, d) + trace(b.Sigma, d) - 2*tr, nil
}

// TraceSqrtProduct returns Tr(sqrtm(S1 S2)) for symmetric positive
// semi-definite n x n matrices (row-major), the term of the Fréchet distance
// that pytorch-fid computes with scipy.linalg.sqrtm.
//
// S1 S2 is similar to the symmetric PSD matrix sqrt(S1) S2 sqrt(S1), so the
// trace of its square root is the sum of the square roots of that matrix's
// eigenvalues. With S1 = V diag(l) V^T and U = V diag(sqrt(l)) (columns with
// l > 0 only), sqrt(S1) S2 sqrt(S1) = V (U^T S2 U) V^T, so only the small
// symmetric matrix M = U^T S2 U is needed: one eigendecomposition with
// vectors (S1), two matrix products and one eigenvalue-only decomposition
// (M), all through LAPACK/BLAS. Eigenvalues that rounding pushed below zero
// count as zero, as scipy's complex result with its imaginary part dropped
// does.
func TraceSqrtProduct(s1, s2 []float64, n int) (float64, error) {
	if len(s1) != n*n || len(s2) != n*n {
		return 0, fmt.Errorf("trace sqrt: %d and %d values for %dx%d matrices", len(s1), len(s2), n, n)
	}
	if !finite(s1) || !finite(s2) {
		return 0, errors.New("trace sqrt: the covariance holds NaN or Inf")
	}
	vt := slices.Clone(s1)
	l, err := symEigen(vt, n, true) // rows of vt are eigenvectors
	if err != nil {
		return 0, err
	}
	// Ut (r, n): the eigenvectors of positive eigenvalues scaled by sqrt(l).
	ut := make([]float64, 0, n*n)
	for i, li := range l {
		if li <= 0 {
			continue
		}
		s := math.Sqrt(li)
		for _, v := range vt[i*n : (i+1)*n] {
			ut = append(ut, v*s)
		}
	}
	r := len(ut) / n
	if r == 0 {
		return 0, nil
	}
	// T = Ut S2 (r, n); M = T Ut^T (r, r).
	t := make([]float64, r*n)
	blasImpl.Dgemm(blas.NoTrans, blas.NoTrans, r, n, n, 1, ut, n, s2, n, 0, t, n)
	m := make([]float64, r*r)
	blasImpl.Dgemm(blas.NoTrans, blas.Trans, r, r, n, 1, t, n, ut, n, 0, m, r)
	for i := 0; i < r; i++ { // symmetrise away the rounding
		for j := i + 1; j < r; j++ {
			x := (m[i*r+j] + m[j*r+i]) / 2
			m[i*r+j], m[j*r+i] = x, x
		}
	}
	ev, err := symEigen(m, r, false)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, e := range ev {
		if e > 0 {
			sum += math.Sqrt(e)
		}
	}
	return sum, nil
}

func trace(a []float64, n int) float64 {
	t := 0.0
	for i := 0; i < n; i++ {
		t += a[i*n+i]
	}
	return t
}

func finite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
