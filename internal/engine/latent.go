package engine

import "math/rand"

// Latents draws n latent vectors from N(0, 1) with a seeded generator, so a
// seed always gives the same images (Go's stream: it differs from
// torch.randn's; pass --z to reproduce PyTorch latents exactly).
func Latents(seed int64, n, dim int) []float32 {
	rng := rand.New(rand.NewSource(seed))
	z := make([]float32, n*dim)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	return z
}

// Interpolate returns n strips of k latents each, moving linearly from one
// random latent to another (row-major: strip i is items i*k .. i*k+k-1).
func Interpolate(seed int64, n, k, dim int) []float32 {
	ends := Latents(seed, 2*n, dim)
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
