package metrics

import (
	"errors"
	"fmt"

	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"gonum.org/v1/gonum/blas"
)

// Stats are the feature statistics FID compares: the mean and covariance of
// a network's pooled features over a set of images, in the TTUR /
// pytorch-fid .npz format ("mu" [D], "sigma" [D, D], float64).
type Stats struct {
	// Mu is the feature mean. (D)
	Mu []float64
	// Sigma is the feature covariance with the n-1 denominator, as np.cov
	// computes it, row-major. (D, D)
	Sigma []float64
	// Features are the per-image features the statistics came from, when
	// kept (KID needs them); nil for TTUR files. (N, D)
	Features []float32
	// N is the number of images, 0 when unknown (TTUR files).
	N int
	// Truncation is the latent truncation of generated images (tgan stats
	// --truncation), 0 for none or unknown.
	Truncation float64
}

// Dim is the feature dimension D.
func (s *Stats) Dim() int { return len(s.Mu) }

func (s *Stats) check() error {
	d := len(s.Mu)
	if d == 0 {
		return errors.New("empty mean")
	}
	if len(s.Sigma) != d*d {
		return fmt.Errorf("mean of dimension %d but %d covariance values (want %d)", d, len(s.Sigma), d*d)
	}
	if s.Features != nil && len(s.Features)%d != 0 {
		return fmt.Errorf("%d feature values are not a multiple of the dimension %d", len(s.Features), d)
	}
	return nil
}

// rowBlock is how many centred feature rows Compute hands to BLAS at once.
const rowBlock = 512

// Compute returns the statistics of n feature vectors of dimension d (row-major
// float32, (n, d)), accumulated in float64: the mean, then the covariance of
// the centred features with the n-1 denominator (np.cov(f, rowvar=False)).
// The returned Stats keep features (not a copy).
func Compute(features []float32, n, d int) (*Stats, error) {
	if n < 2 || d <= 0 {
		return nil, fmt.Errorf("stats: need at least 2 feature vectors of positive dimension (have %d of %d)", n, d)
	}
	if len(features) != n*d {
		return nil, fmt.Errorf("stats: %d values for %d vectors of %d", len(features), n, d)
	}
	mu := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range features[i*d : (i+1)*d] {
			mu[j] += float64(v)
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	sigma := make([]float64, d*d)
	block := make([]float64, rowBlock*d)
	for start := 0; start < n; start += rowBlock {
		rows := min(rowBlock, n-start)
		c := block[:rows*d]
		for i := 0; i < rows; i++ {
			for j, v := range features[(start+i)*d : (start+i+1)*d] {
				c[i*d+j] = float64(v) - mu[j]
			}
		}
		// sigma (upper) += c^T c
		blasImpl.Dsyrk(blas.Upper, blas.Trans, d, rows, 1, c, d, 1, sigma, d)
	}
	scale := 1 / float64(n-1)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := sigma[i*d+j] * scale
			sigma[i*d+j], sigma[j*d+i] = v, v
		}
	}
	if !finite(mu) || !finite(sigma) {
		return nil, errors.New("stats: the features hold NaN or Inf")
	}
	return &Stats{Mu: mu, Sigma: sigma, Features: features, N: n}, nil
}

// ReadStats reads a statistics .npz: "mu" [D] and "sigma" [D, D] in float64
// or float32 (TTUR and pytorch-fid files, or tgan stats), plus the optional
// "features" [N, D] and "n" that tgan stats writes.
func ReadStats(path string) (*Stats, error) {
	arrs, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, err
	}
	s, err := statsFromArrays(arrs)
	if err != nil {
		return nil, fmt.Errorf("stats %s: %w", path, err)
	}
	return s, nil
}

func statsFromArrays(arrs map[string]*npy.Array) (*Stats, error) {
	mu, sigma := arrs["mu"], arrs["sigma"]
	if mu == nil || sigma == nil {
		names := make([]string, 0, len(arrs))
		for k := range arrs {
			names = append(names, k)
		}
		return nil, fmt.Errorf("want arrays \"mu\" and \"sigma\" (TTUR / pytorch-fid format), found %v", names)
	}
	if len(mu.Shape) != 1 {
		return nil, fmt.Errorf("mu has shape %v, want [D]", mu.Shape)
	}
	d := mu.Shape[0]
	if len(sigma.Shape) != 2 || sigma.Shape[0] != d || sigma.Shape[1] != d {
		return nil, fmt.Errorf("sigma has shape %v, want [%d %d]", sigma.Shape, d, d)
	}
	s := &Stats{}
	var err error
	if s.Mu, err = asFloat64("mu", mu); err != nil {
		return nil, err
	}
	if s.Sigma, err = asFloat64("sigma", sigma); err != nil {
		return nil, err
	}
	if f := arrs["features"]; f != nil {
		if len(f.Shape) != 2 || f.Shape[1] != d || f.F32 == nil {
			return nil, fmt.Errorf("features: shape %v dtype %s, want float32 [N %d]", f.Shape, f.Descr(), d)
		}
		s.Features, s.N = f.F32, f.Shape[0]
	}
	if a := arrs["n"]; a != nil && a.I64 != nil && len(a.I64) == 1 {
		s.N = int(a.I64[0])
	}
	if a := arrs["truncation"]; a != nil && a.F64 != nil && len(a.F64) == 1 {
		s.Truncation = a.F64[0]
	}
	if !finite(s.Mu) || !finite(s.Sigma) {
		return nil, errors.New("mu or sigma holds NaN or Inf")
	}
	return s, nil
}

func asFloat64(name string, a *npy.Array) ([]float64, error) {
	switch {
	case a.F64 != nil:
		return a.F64, nil
	case a.F32 != nil:
		out := make([]float64, len(a.F32))
		for i, v := range a.F32 {
			out[i] = float64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s has dtype %s, want float64 or float32", name, a.Descr())
}

// Write saves s as an uncompressed .npz that NumPy, pytorch-fid and TTUR
// read: "mu" (float64 [D]), "sigma" (float64 [D, D]), "n" (int64 scalar,
// when known), "truncation" (float64 scalar, when set) and, with features
// set and s.Features present, "features" (float32 [N, D]). The file
// appears atomically.
func (s *Stats) Write(path string, features bool) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("stats %s: %w", path, err)
	}
	d := s.Dim()
	arrs := map[string]*npy.Array{
		"mu":    {Shape: []int{d}, F64: s.Mu},
		"sigma": {Shape: []int{d, d}, F64: s.Sigma},
	}
	if s.N > 0 {
		arrs["n"] = &npy.Array{Shape: []int{}, I64: []int64{int64(s.N)}}
	}
	if s.Truncation != 0 {
		arrs["truncation"] = &npy.Array{Shape: []int{}, F64: []float64{s.Truncation}}
	}
	if features && s.Features != nil {
		arrs["features"] = &npy.Array{Shape: []int{len(s.Features) / d, d}, F32: s.Features}
	}
	return npy.WriteNPZ(path, arrs)
}
