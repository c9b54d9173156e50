package gmodel

import (
	"errors"
	"reflect"
	"sync"
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
//
// Gorgonia offers no public way to do this, so it writes the fields by
// reflection: it returns an error, and writes nothing, when this Gorgonia's
// Node lacks them with the types v0.9.18 has.
func ResetDerivatives(g *G.ExprGraph) error {
	if err := derivFields(); err != nil {
		return err
	}
	for _, n := range g.AllNodes() {
		v := reflect.ValueOf(n).Elem()
		for _, name := range []string{"deriv", "derivOf"} {
			f := v.FieldByName(name)
			reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.Zero(f.Type()))
		}
	}
	return nil
}

// derivFields checks, once, that gorgonia.Node has the cached-derivative
// fields ResetDerivatives clears.
var derivFields = sync.OnceValue(func() error {
	t := reflect.TypeOf(G.Node{})
	d, ok1 := t.FieldByName("deriv")
	o, ok2 := t.FieldByName("derivOf")
	if !ok1 || !ok2 || d.Type != reflect.TypeOf((*G.Node)(nil)) || o.Type != reflect.TypeOf(G.Nodes{}) {
		return errors.New("gmodel: this Gorgonia's Node lacks the deriv/derivOf fields of v0.9.18: the WGAN-GP double backward cannot be built")
	}
	return nil
})
