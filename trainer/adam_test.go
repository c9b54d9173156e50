package trainer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// refAdam is torch.optim.Adam's step written out in Go (the loop tgan ran
// before the update became a graph): the reference for the update graph.
func refAdam(a *Adam, w model.Weights, grads map[string][]float32) {
	a.Step++
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	bc2 := math.Sqrt(1 - math.Pow(a.Beta2, float64(a.Step)))
	stepSize := float32(a.LR / bc1)
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	eps, bc2f := float32(a.Eps), float32(bc2)
	for name, g := range grads {
		p, m, v := w[name].F32, a.M[name], a.V[name]
		for i, gi := range g {
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			denom := float32(math.Sqrt(float64(v[i])))/bc2f + eps
			p[i] -= stepSize * m[i] / denom
		}
	}
}

// TestParityAdamGraph: five steps of the update graph (Adam.Update,
// on the tape machine) equal the Go loop of torch's formula.
func TestParityAdamGraph(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	w := model.Weights{
		"a": {Shape: []int{3, 4}, F32: randn(rng, 12)},
		"b": {Shape: []int{5}, F32: randn(rng, 5)},
	}
	ref := w.Clone()
	names := []string{"a", "b"}
	ga, gr := NewAdam(1e-2, 0.5, 0.99, 1e-8, w, names), NewAdam(1e-2, 0.5, 0.99, 1e-8, ref, names)
	for step := 0; step < 5; step++ {
		grads := map[string][]float32{"a": randn(rng, 12), "b": randn(rng, 5)}
		if err := ga.Update(w, grads); err != nil {
			t.Fatal(err)
		}
		refAdam(gr, ref, grads)
		for _, n := range names {
			if e := tensorErr(w[n].F32, ref[n].F32); e > 1e-6 {
				t.Errorf("step %d %s: weights relative error %.2g: %v vs %v", step, n, e, w[n].F32, ref[n].F32)
			}
			if e := tensorErr(ga.M[n], gr.M[n]); e > 1e-6 {
				t.Errorf("step %d %s: m relative error %.2g", step, n, e)
			}
			if e := tensorErr(ga.V[n], gr.V[n]); e > 1e-6 {
				t.Errorf("step %d %s: v relative error %.2g", step, n, e)
			}
		}
	}
}
