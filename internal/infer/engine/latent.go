package engine

import (
	"fmt"
	"math"
	"math/rand"
)

// MinTruncation is the smallest truncation [SampleLatents] accepts: at T a
// coordinate takes about 1/(0.8 T) draws (125 at 0.01), so much smaller
// values would only spin.
const MinTruncation = 0.01

// CheckTruncation validates a truncation T (--truncation, ?truncation=):
// 0 means none, otherwise at least MinTruncation.
func CheckTruncation(t float64) error {
	if t == 0 {
		return nil
	}
	if math.IsNaN(t) || math.IsInf(t, 0) || t < MinTruncation {
		return fmt.Errorf("truncation %g: want 0 (none) or a finite value of at least %g", t, MinTruncation)
	}
	return nil
}

// Normal draws one latent coordinate from N(0, 1) with rng, as float32.
// With truncation t > 0 a draw whose float32 value lies beyond [-t, t] is
// thrown away and redrawn from the same stream until one lies within: the
// truncation trick of large-scale GAN work (BigGAN, Brock et al. 2019),
// trading variety for fidelity. A t larger than every draw changes nothing:
// the stream, and so the latents, are those of no truncation bit for bit.
// Every command that samples latents (infer, serve, stats, eval) draws
// through here, so a seed and T give the same latents everywhere.
func Normal(rng *rand.Rand, t float64) float32 {
	for {
		z := float32(rng.NormFloat64())
		if t <= 0 || math.Abs(float64(z)) <= t {
			return z
		}
	}
}

// SampleLatents draws n latent vectors of dimension dim in order from one
// generator seeded with seed, each coordinate from [Normal] with truncation
// t (0: none). A seed always gives the same images (Go's stream: it differs
// from torch.randn's; pass --z to reproduce PyTorch latents exactly).
func SampleLatents(seed int64, n, dim int, t float64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	z := make([]float32, n*dim)
	for i := range z {
		z[i] = Normal(rng, t)
	}
	return z
}

// Latents draws n latent vectors from N(0, 1): SampleLatents without
// truncation.
func Latents(seed int64, n, dim int) []float32 {
	return SampleLatents(seed, n, dim, 0)
}

// Interpolate returns n strips of k latents each, moving linearly from one
// random latent to another (row-major: strip i is items i*k .. i*k+k-1).
// The ends are SampleLatents(seed, 2n, dim, t); with truncation the points
// between them stay within [-t, t] too (up to float32 rounding).
func Interpolate(seed int64, n, k, dim int, t float64) []float32 {
	ends := SampleLatents(seed, 2*n, dim, t)
	z := make([]float32, 0, n*k*dim)
	for i := 0; i < n; i++ {
		a, b := ends[2*i*dim:(2*i+1)*dim], ends[(2*i+1)*dim:(2*i+2)*dim]
		for j := 0; j < k; j++ {
			t := float32(j) / float32(k-1)
			for d := range a {
				z = append(z, (1-t)*a[d]+t*b[d])
			}
		}
	}
	return z
}
