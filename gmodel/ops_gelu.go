package gmodel

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// geluOp is the exact GELU of the official MLPs, 0.5*x*(1+erf(x/sqrt 2))
// (not the tanh approximation). grad=true makes it the backward op
// (x, g) -> g * gelu'(x).
type geluOp struct {
	opBase
	grad bool
}

func gelu(x *G.Node) *G.Node {
	op := &geluOp{opBase: opBase{id: "tganGELU", inDims: []int{x.Dims()}, outDims: x.Dims()}}
	return G.Must(G.ApplyOp(op, x))
}

func (o *geluOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }

func (o *geluOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	out := make([]float32, len(x))
	if o.grad {
		g := f32(vals[1])
		parallelRows(len(x), 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				v := float64(x[i])
				d := 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-0.5*v*v)/math.Sqrt(2*math.Pi)
				out[i] = float32(d) * g[i]
			}
		})
	} else {
		parallelRows(len(x), 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				v := float64(x[i])
				out[i] = float32(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
			}
		})
	}
	return newDense(out, vals[0].Shape().Clone()...), nil
}

func (o *geluOp) DiffWRT(n int) []bool { return []bool{!o.grad, false}[:n] }

func (o *geluOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("%s: second derivative not implemented", o.id)
	}
	op := &geluOp{opBase: opBase{id: "tganGELUGrad", inDims: []int{in[0].Dims(), in[0].Dims()}, outDims: in[0].Dims()}, grad: true}
	return G.Nodes{G.Must(G.ApplyOp(op, in[0], grad))}, nil
}
