package engine_test

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/eval/quality"
	"github.com/tgan-dev/tgan/internal/infer/engine"
)

// TestTruncationLargeIsNone: a truncation beyond every draw gives the
// untruncated latents bit for bit (no draw is thrown away).
func TestTruncationLargeIsNone(t *testing.T) {
	plain := engine.Latents(7, 500, 128)
	if got := engine.SampleLatents(7, 500, 128, 1e6); !slices.Equal(got, plain) {
		t.Error("truncation 1e6 changed the latents")
	}
	if got := engine.SampleLatents(7, 500, 128, 0); !slices.Equal(got, plain) {
		t.Error("truncation 0 changed the latents")
	}
}

// TestTruncationRedraws: at T = 0.5 every coordinate lies within 0.5, and
// the values are a truncated normal (redrawn, not clamped): standard
// deviation sqrt(1 - 2 T phi(T) / (2 Phi(T) - 1)) = 0.2838 and no mass
// piled at +-T.
func TestTruncationRedraws(t *testing.T) {
	const T = 0.5
	z := engine.SampleLatents(3, 1000, 100, T)
	var sum, sq float64
	atEdge := 0
	for _, v := range z {
		if math.Abs(float64(v)) > T {
			t.Fatalf("coordinate %g beyond %g", v, T)
		}
		if math.Abs(float64(v)) > T-1e-3 {
			atEdge++
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(z))
	mean, std := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
	phi := math.Exp(-T*T/2) / math.Sqrt(2*math.Pi)
	want := math.Sqrt(1 - 2*T*phi/math.Erf(T/math.Sqrt2))
	if math.Abs(mean) > 0.005 || math.Abs(std-want) > 0.003 {
		t.Errorf("mean %.4f std %.4f, want 0 and %.4f (truncated normal)", mean, std, want)
	}
	// The density at each edge is phi(T)/(2Phi(T)-1) = 0.92 per unit: about
	// 0.0018 of the draws lie within 1e-3 of an edge; a clamp puts 62% there.
	if frac := float64(atEdge) / n; frac > 0.006 {
		t.Errorf("%.4f of the draws at the edge: clamped, not redrawn?", frac)
	}
	// The first coordinates follow the stream: the first draws within T.
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 10; i++ {
		var v float32
		for v = float32(rng.NormFloat64()); math.Abs(float64(v)) > T; v = float32(rng.NormFloat64()) {
		}
		if z[i] != v {
			t.Fatalf("coordinate %d = %g, the stream's %d-th draw within T is %g", i, z[i], i, v)
		}
	}
}

// TestTruncationSameEverywhere: the streamed latents of stats/eval, the
// batch latents of infer and the interpolation ends are the same values.
func TestTruncationSameEverywhere(t *testing.T) {
	want := engine.SampleLatents(11, 23, 8, 0.7)
	s := quality.NewLatentStream(11, 8, 0.7)
	var got []float32
	for start := 0; start < 23; start += 5 {
		got = append(got, s.Take(start, min(5, 23-start))...)
	}
	if !slices.Equal(got, want) {
		t.Error("the latent stream differs from SampleLatents")
	}
	z := engine.Interpolate(11, 2, 3, 8, 0.7)
	ends := engine.SampleLatents(11, 4, 8, 0.7)
	if !slices.Equal(z[:8], ends[:8]) || !slices.Equal(z[16:24], ends[8:16]) || !slices.Equal(z[24:32], ends[16:24]) {
		t.Error("interpolation ends differ from SampleLatents")
	}
}

func TestCheckTruncation(t *testing.T) {
	for _, v := range []float64{0, 0.01, 0.5, 2, 1e9} {
		if err := engine.CheckTruncation(v); err != nil {
			t.Errorf("%g: %v", v, err)
		}
	}
	for _, v := range []float64{-1, 0.001, math.NaN(), math.Inf(1)} {
		if err := engine.CheckTruncation(v); err == nil || !strings.Contains(err.Error(), "truncation") {
			t.Errorf("%g: %v", v, err)
		}
	}
}
