package trainer

import (
	"sort"

	"github.com/tgan-dev/tgan/model"
)

// Adam is torch.optim.Adam without weight decay, over named float32
// tensors: m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2,
// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). It holds the
// hyper-parameters and the state; the step itself is the update graph of
// update.go, which the trainer runs on its executor.
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

// Update applies one step with gradients grads (by name) to w in place,
// without clipping, by running the trainer's update graph on the tape
// machine (for tools that replay a step: internal/checkpoint/pth's reference check).
func (a *Adam) Update(w model.Weights, grads map[string][]float32) error {
	names := make([]string, 0, len(grads))
	for n := range grads {
		names = append(names, n)
	}
	sort.Strings(names)
	src := []gradSource{{"grad", grads}}
	u := newUpdateNet("adam", names, src, func(p string) adamState {
		return adamState{w: w[p].F32, m: a.M[p], v: a.V[p]}
	}, a.Beta1, a.Beta2, a.Eps)
	u.exec = newTapeExecutor(u)
	defer u.exec.close()
	a.Step++
	sc := adamScalars(a)
	sc["coef"], sc["beta"] = 1, 0
	if err := u.set(sc); err != nil {
		return err
	}
	if err := u.setScales(1); err != nil {
		return err
	}
	return u.run()
}
