package gmodel

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// geluOp is the exact GELU of the official MLPs, 0.5*x*(1+erf(x/sqrt 2))
// (not the tanh approximation). grad=true makes it the backward op
// (x, g) -> g * gelu'(x).
type geluOp struct {
	opBase
	order int // 0: gelu(x); 1: g*gelu'(x); 2: g*gelu''(x)
}

func gelu(x *G.Node) *G.Node { return geluN(0, x) }

// geluN returns gelu(x) (order 0) or g times its order-th derivative at x.
func geluN(order int, x *G.Node, g ...*G.Node) *G.Node {
	dims := []int{x.Dims()}
	if order > 0 {
		dims = append(dims, x.Dims())
	}
	op := &geluOp{opBase: opBase{id: fmt.Sprintf("tganGELU(%d)", order), inDims: dims, outDims: x.Dims()}, order: order}
	return apply(op, append([]*G.Node{x}, g...)...)
}

func (o *geluOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }

func (o *geluOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	var g []float32
	if o.order > 0 {
		g = f32(vals[1])
	}
	out := o.buffer(len(x))
	geluKernel(out, x, g, o.order)
	return newDense(out, vals[0].Shape().Clone()...), nil
}

func (o *geluOp) DiffWRT(n int) []bool { return []bool{o.order < 2, o.order < 2}[:n] }

// SymDiff: d gelu = gelu1(x, u); for gelu1(x, g): d/dx = gelu2(x, g*u) and
// d/dg = gelu1(x, u). Third derivatives are not needed (WGAN-GP is second order).
func (o *geluOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	switch o.order {
	case 0:
		return G.Nodes{geluN(1, in[0], grad)}, nil
	case 1:
		return G.Nodes{geluN(2, in[0], G.Must(G.HadamardProd(in[1], grad))), geluN(1, in[0], grad)}, nil
	}
	return nil, fmt.Errorf("%s: third derivative not implemented", o.id)
}
