package gmodel

import (
	"reflect"
	"unsafe"

	G "gorgonia.org/gorgonia"
)

// ResetDerivatives forgets the derivative nodes that a previous G.Grad
// recorded on every node of g. Gorgonia caches them in unexported fields
// (deriv, derivOf) and a later Grad reuses them as if they belonged to the
// new cost, which breaks double backprop (WGAN-GP: the penalty is a function
// of a gradient). Call it between the inner Grad (gradient wrt the input)
// and the outer Grad (gradient of the penalty wrt the weights). The gradient
// nodes themselves stay in the graph and keep working.
func ResetDerivatives(g *G.ExprGraph) {
	for _, n := range g.AllNodes() {
		v := reflect.ValueOf(n).Elem()
		for _, name := range []string{"deriv", "derivOf"} {
			f := v.FieldByName(name)
			reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.Zero(f.Type()))
		}
	}
}
