package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
)

// KIDOptions configure [KID]. The zero value gives the defaults of
// torch-fidelity and clean-fid.
type KIDOptions struct {
	// Subsets is the number of random subsets averaged. Default 100.
	Subsets int
	// SubsetSize is the number of feature vectors drawn from each set per
	// subset, capped at the smaller set's size. Default 1000.
	SubsetSize int
	// Seed seeds the subset draws (see [SubsetIndices]). Default 0.
	Seed uint64
}

func (o KIDOptions) withDefaults() KIDOptions {
	if o.Subsets == 0 {
		o.Subsets = 100
	}
	if o.SubsetSize == 0 {
		o.SubsetSize = 1000
	}
	return o
}

// KID returns the Kernel Inception Distance between feature sets a (na, d)
// and b (nb, d): the mean and standard deviation (ddof 0) over subsets of
// the unbiased MMD^2 estimate with the cubic polynomial kernel
// k(x, y) = (x.y/d + 1)^3, as torch-fidelity computes it:
//
//	mmd2 = (sum_{i!=j} Kxx + sum_{i!=j} Kyy) / (m (m-1)) - 2 sum Kxy / m^2
//
// Each subset draws m vectors without replacement from a, then m from b,
// with [SubsetIndices]. Kernel sums run in float64 through BLAS.
func KID(a []float32, na int, b []float32, nb int, d int, opt KIDOptions) (mean, std float64, err error) {
	opt = opt.withDefaults()
	if d <= 0 || len(a) != na*d || len(b) != nb*d {
		return 0, 0, fmt.Errorf("kid: feature sets of %d and %d values for %d and %d vectors of %d", len(a), len(b), na, nb, d)
	}
	if opt.Subsets < 0 || opt.SubsetSize < 0 {
		return 0, 0, fmt.Errorf("kid: %d subsets of size %d", opt.Subsets, opt.SubsetSize)
	}
	m := min(opt.SubsetSize, na, nb)
	if m < 2 {
		return 0, 0, fmt.Errorf("kid: needs at least 2 feature vectors per set (have %d and %d)", na, nb)
	}
	rng := SplitMix64(opt.Seed)
	x := make([]float64, m*d)
	y := make([]float64, m*d)
	k := make([]float64, m*m)
	mmds := make([]float64, opt.Subsets)
	for s := range mmds {
		gather(x, a, SubsetIndices(&rng, na, m), d)
		gather(y, b, SubsetIndices(&rng, nb, m), d)
		kxx := offDiagonalKernelSum(x, m, d, k)
		kyy := offDiagonalKernelSum(y, m, d, k)
		blasImpl.Dgemm(blas.NoTrans, blas.Trans, m, m, d, 1, x, d, y, d, 0, k, m)
		kxy := 0.0
		for _, v := range k {
			kxy += cubicKernel(v, d)
		}
		fm := float64(m)
		mmds[s] = (kxx+kyy)/(fm*(fm-1)) - 2*kxy/(fm*fm)
	}
	mean, std = meanStd(mmds)
	return mean, std, nil
}

// offDiagonalKernelSum returns the sum of k(x_i, x_j) over i != j, using
// scratch (m*m) for the Gram matrix (upper triangle only).
func offDiagonalKernelSum(x []float64, m, d int, scratch []float64) float64 {
	blasImpl.Dsyrk(blas.Upper, blas.NoTrans, m, d, 1, x, d, 0, scratch, m)
	sum := 0.0
	for i := 0; i < m; i++ {
		for _, v := range scratch[i*m+i+1 : (i+1)*m] {
			sum += cubicKernel(v, d)
		}
	}
	return 2 * sum
}

func cubicKernel(dot float64, d int) float64 {
	v := dot/float64(d) + 1
	return v * v * v
}

// gather copies rows idx of src (float32, width d) into dst as float64.
func gather(dst []float64, src []float32, idx []int, d int) {
	for r, i := range idx {
		for j, v := range src[i*d : (i+1)*d] {
			dst[r*d+j] = float64(v)
		}
	}
}

// SplitMix64 is the generator of KID's subset draws: Sebastiano Vigna's
// splitmix64, chosen because a few lines reproduce it in any language (the
// test goldens' Python script does). The state is the seed.
type SplitMix64 uint64

// Next returns the next 64 random bits.
func (s *SplitMix64) Next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// SubsetIndices draws m distinct indices of 0..n-1 with a partial
// Fisher-Yates shuffle: start from 0..n-1 and, for i = 0..m-1, swap item i
// with item i + Next() % (n-i); return the first m items.
func SubsetIndices(rng *SplitMix64, n, m int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i < m; i++ {
		j := i + int(rng.Next()%uint64(n-i))
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:m]
}

// meanStd returns the mean and the population standard deviation (ddof 0,
// as np.std).
func meanStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)))
}
