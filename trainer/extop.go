package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lossFunc maps a tensor's values to a scalar loss and its gradient with
// respect to those values. It may do arbitrary work in Go (including
// running another graph), which is how G's output is scored by D.
type lossFunc func(x []float32) (loss float64, grad []float32, err error)

// extLoss is a graph op whose value is computed by a Go function: the loss
// op stores the gradient its function returned, and its derivative op
// (which runs later on the same tape, since it takes the loss as an input)
// hands out that stored gradient times the incoming scalar gradient. It is
// first-order only: nothing differentiates through it twice.
type extLoss struct {
	id    string
	f     lossFunc
	shape tensor.Shape
	grad  []float32
}

// applyLoss returns the scalar node f(x).
func applyLoss(x *G.Node, id string, f lossFunc) *G.Node {
	op := &extLoss{id: id, f: f, shape: x.Shape().Clone()}
	return G.Must(G.ApplyOp(op, x))
}

func (o *extLoss) Arity() int { return 1 }
func (o *extLoss) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: len(o.shape), Of: a}, a)
}
func (o *extLoss) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (o *extLoss) ReturnsPtr() bool                               { return false }
func (o *extLoss) CallsExtern() bool                              { return false }
func (o *extLoss) OverwritesInput() int                           { return -1 }
func (o *extLoss) String() string                                 { return o.id }
func (o *extLoss) WriteHash(h hash.Hash)                          { fmt.Fprint(h, o.id) }
func (o *extLoss) Hashcode() uint32                               { return hashOf(o.id) }

func (o *extLoss) Do(vals ...G.Value) (G.Value, error) {
	l, g, err := o.f(denseData(vals[0]))
	if err != nil {
		return nil, err
	}
	if len(g) != o.shape.TotalSize() {
		return nil, fmt.Errorf("%s: gradient has %d values, want %d", o.id, len(g), o.shape.TotalSize())
	}
	o.grad = g
	return G.NewF32(float32(l)), nil
}

func (o *extLoss) DiffWRT(int) []bool { return []bool{true} }

func (o *extLoss) SymDiff(_ G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	n, err := G.ApplyOp(&extGrad{loss: o}, out, grad)
	return G.Nodes{n}, err
}

// extGrad returns the stored gradient of its extLoss times the incoming
// scalar gradient. Its inputs are the loss value (for ordering) and that
// scalar.
type extGrad struct{ loss *extLoss }

func (o *extGrad) Arity() int { return 2 }
func (o *extGrad) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, G.TensorType{Dims: len(o.loss.shape), Of: a})
}
func (o *extGrad) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.loss.shape.Clone(), nil }
func (o *extGrad) ReturnsPtr() bool                               { return false }
func (o *extGrad) CallsExtern() bool                              { return false }
func (o *extGrad) OverwritesInput() int                           { return -1 }
func (o *extGrad) String() string                                 { return o.loss.id + "'" }
func (o *extGrad) WriteHash(h hash.Hash)                          { fmt.Fprint(h, o.String()) }
func (o *extGrad) Hashcode() uint32                               { return hashOf(o.String()) }
func (o *extGrad) DiffWRT(int) []bool                             { return []bool{false, false} }
func (o *extGrad) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, fmt.Errorf("%s: not differentiable", o)
}

func (o *extGrad) Do(vals ...G.Value) (G.Value, error) {
	s := denseData(vals[1])[0]
	g := make([]float32, len(o.loss.grad))
	for i, v := range o.loss.grad {
		g[i] = v * s
	}
	return tensor.New(tensor.WithShape(o.loss.shape.Clone()...), tensor.WithBacking(g)), nil
}

func hashOf(s string) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s)
	return h.Sum32()
}
