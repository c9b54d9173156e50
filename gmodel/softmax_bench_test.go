package gmodel

import (
	"math/rand"
	"testing"
)

// BenchmarkSoftmaxRows times the attention softmax kernel of this build
// (C with libmvec by default, pure Go with -tags noblas) on 64 rows of 1024
// (the last stage of the 32x32 generators).
func BenchmarkSoftmaxRows(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	x := make([]float32, 64*1024)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
	}
	dst := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for i := 0; i < b.N; i++ {
		softmaxRows(dst, x, 1024)
	}
}
