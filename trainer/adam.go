package trainer

import (
	"math"
	"sort"

	"github.com/tgan-dev/tgan/model"
)

// Adam is torch.optim.Adam without weight decay, over named float32
// tensors: m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	Step                  int                  // updates done (t)
	M, V                  map[string][]float32 // first and second moments by parameter name
}

// NewAdam returns an optimizer with zero moments for names in w.
func NewAdam(lr, b1, b2, eps float64, w model.Weights, names []string) *Adam {
	a := &Adam{LR: lr, Beta1: b1, Beta2: b2, Eps: eps, M: map[string][]float32{}, V: map[string][]float32{}}
	for _, n := range names {
		a.M[n] = make([]float32, len(w[n].F32))
		a.V[n] = make([]float32, len(w[n].F32))
	}
	return a
}

// Update applies one step with gradients grads (by name) to w in place.
func (a *Adam) Update(w model.Weights, grads map[string][]float32) {
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

// clipGrads scales grads so that their total L2 norm is at most maxNorm
// (torch.nn.utils.clip_grad_norm_: coefficient maxNorm/(norm+1e-6), applied
// when below 1) and returns the norm before clipping. maxNorm <= 0 only
// measures.
func clipGrads(grads map[string][]float32, maxNorm float64) float64 {
	names := make([]string, 0, len(grads))
	for n := range grads {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := 0.0
	for _, n := range names {
		for _, g := range grads[n] {
			sum += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(sum)
	if maxNorm > 0 {
		if c := maxNorm / (norm + 1e-6); c < 1 {
			cf := float32(c)
			for _, n := range names {
				for i := range grads[n] {
					grads[n][i] *= cf
				}
			}
		}
	}
	return norm
}
