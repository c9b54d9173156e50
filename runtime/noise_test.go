package runtime

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestDrawNoise: an item's draws depend on its own input values and the
// seed only (not on its batch mates or position), and are standard normal.
func TestDrawNoise(t *testing.T) {
	const per, T = 4, 5000
	in := []float32{1, 2, 3, 4, -1, 0.5, 0, 7, 1, 2, 3, 4}
	a := DrawNoise(3, in, per, T)
	if len(a) != 3*T {
		t.Fatalf("%d draws, want %d", len(a), 3*T)
	}
	if !slices.Equal(a[:T], a[2*T:]) {
		t.Error("items 0 and 2 have the same input but different noise")
	}
	if slices.Equal(a[:T], a[T:2*T]) {
		t.Error("items 0 and 1 have different inputs but the same noise")
	}
	if alone := DrawNoise(3, in[per:2*per], per, T); !slices.Equal(alone, a[T:2*T]) {
		t.Error("item 1 alone draws other noise than in a batch of 3")
	}
	if other := DrawNoise(4, in[:per], per, T); slices.Equal(other, a[:T]) {
		t.Error("seeds 3 and 4 draw the same noise")
	}
	var sum, sq float64
	for _, v := range a[:T] {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean, variance := sum/T, sq/T-(sum/T)*(sum/T)
	// 5000 draws: the standard error of the mean is 0.014, of the variance 0.02.
	if math.Abs(mean) > 0.07 || math.Abs(variance-1) > 0.1 {
		t.Errorf("mean %.3f, variance %.3f; want about 0 and 1", mean, variance)
	}
}

// TestRunNoiseRefusals: a model without a noise input refuses RunNoise
// with one line naming the input it lacks; NoiseSize is 0.
func TestRunNoiseRefusals(t *testing.T) {
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_gen.onnx")
	if n := m.NoiseSize(); n != 0 {
		t.Errorf("NoiseSize %d, want 0", n)
	}
	_, _, err := m.RunNoise(make([]float32, 8), []int64{1, 8}, make([]float32, 3))
	if err == nil || !strings.Contains(err.Error(), `no "noise" input`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("RunNoise on a model without noise: %v", err)
	}
}
