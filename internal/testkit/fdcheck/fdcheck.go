// Package fdcheck compares symbolic gradients with central finite
// differences: the test helper behind every gradient check of the Gorgonia
// ops, blocks, the WGAN-GP penalty and the trainer (gmodel, trainer tests).
package fdcheck

import (
	"math"
	"testing"
)

// Input is one tensor whose gradient is checked. Values must be the live
// storage the loss reads (the graph shares it), so perturbing it changes the
// next evaluation; Grad is the symbolic gradient at the current values.
type Input struct {
	Name   string
	Values []float32
	Grad   []float32
}

// Options tune a check. The zero value gives eps 1e-2, tolerance 3e-2
// relative to max(1, |finite difference|), about 8 entries per tensor.
type Options struct {
	Eps     float64 // step of the central difference
	Tol     float64 // allowed |symbolic - numeric| / max(Floor, |numeric|)
	Floor   float64 // see Tol; 0 means 1
	Samples int     // entries checked per tensor, evenly spaced
}

// Check perturbs Samples entries of every input by +-Eps, evaluates loss
// each time and reports each derivative whose symbolic value disagrees. It
// returns the number of derivatives checked.
func Check(t testing.TB, inputs []Input, loss func() float64, o Options) int {
	t.Helper()
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.Tol == 0 {
		o.Tol = 3e-2
	}
	if o.Floor == 0 {
		o.Floor = 1
	}
	if o.Samples == 0 {
		o.Samples = 8
	}
	checked := 0
	for _, in := range inputs {
		v := in.Values
		for j := 0; j < len(v); j += 1 + len(v)/o.Samples {
			old := v[j]
			v[j] = old + float32(o.Eps)
			up := loss()
			v[j] = old - float32(o.Eps)
			down := loss()
			v[j] = old
			num := (up - down) / (2 * o.Eps)
			if d := math.Abs(num - float64(in.Grad[j])); d > o.Tol*math.Max(o.Floor, math.Abs(num)) {
				t.Errorf("d loss / d %s[%d]: symbolic %.5f, finite differences %.5f", in.Name, j, in.Grad[j], num)
			}
			checked++
		}
	}
	return checked
}
