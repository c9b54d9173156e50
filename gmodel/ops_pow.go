package gmodel

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// powOp is the elementwise coef * (x + eps)^p. Its derivative is another
// powOp (coef*p, p-1) times the upstream gradient, so it is differentiable
// to any order. PixelNorm uses it for (mean x^2 + 1e-8)^(-1/2); Gorgonia's
// own InverseSqrt has a wrong gradient (ENV.md).
type powOp struct {
	opBase
	coef, eps, p float64
}

func pow(x *G.Node, coef, eps, p float64) *G.Node {
	op := &powOp{opBase: opBase{id: fmt.Sprintf("tganPow(%g,%g,%g)", coef, eps, p), inDims: []int{x.Dims()}, outDims: x.Dims()},
		coef: coef, eps: eps, p: p}
	return apply(op, x)
}

func (o *powOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }

func (o *powOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	out := o.buffer(len(x))
	for i, v := range x {
		out[i] = float32(o.coef * math.Pow(float64(v)+o.eps, o.p))
	}
	return newDense(out, vals[0].Shape().Clone()...), nil
}

func (o *powOp) DiffWRT(int) []bool { return []bool{true} }

func (o *powOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{G.Must(G.HadamardProd(grad, pow(in[0], o.coef*o.p, o.eps, o.p-1)))}, nil
}

// Describe: see PowSpec.
func (o *powOp) Describe() OpSpec { return PowSpec{Coef: o.coef, Eps: o.eps, P: o.p} }
