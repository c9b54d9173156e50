package fused

import (
	"math"
	"math/rand"
	"testing"
)

// TestQuantizeRows: every weight is within half a step of its int8 value
// times its row's scale, each row's largest magnitude maps to 127, the
// result is transposed to [cols, rows], and an all-zero row stays zero.
func TestQuantizeRows(t *testing.T) {
	const rows, cols = 5, 7
	rng := rand.New(rand.NewSource(3))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64()) * float32(i/cols+1) // rows of different ranges
	}
	for c := 0; c < cols; c++ {
		w[2*cols+c] = 0
	}
	q, scales := quantizeRows(float32Bytes(w), rows, cols)
	for r := 0; r < rows; r++ {
		peak := 0
		for c := 0; c < cols; c++ {
			v := int(int8(q[c*rows+r]))
			peak = max(peak, abs(v))
			if d := math.Abs(float64(w[r*cols+c]) - float64(v)*float64(scales[r])); d > float64(scales[r])/2*(1+1e-6) {
				t.Errorf("w[%d][%d] = %g, int8 %d x scale %g: off by %g (> half a step)", r, c, w[r*cols+c], v, scales[r], d)
			}
		}
		if want := 127; r != 2 && peak != want {
			t.Errorf("row %d: largest |q| = %d, want %d", r, peak, want)
		}
		if r == 2 && peak != 0 {
			t.Errorf("zero row quantized to %d", peak)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
