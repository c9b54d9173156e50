package gmodel

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Broadcasting by whole-block repetition: a small tensor b (a bias, a
// LayerNorm scale, a position embedding, a relative-position bias) is
// repeated over the leading axes of a larger x. These three ops and their
// gradients close over each other, so any order of derivative exists:
//   addTiled(x, b)   = x + tile(b)           d/dx: grad, d/db: sumTiles(grad)
//   mulTiled(x, b)   = x * tile(b)           d/dx: mulTiled(grad, b), d/db: sumTiles(grad*x)
//   sumTiles(g, |b|) = sum of g's blocks     d/dg: addTiled(zeros, grad) == tileOf
//   tileOf(b, shape) = tile(b)               d/db: sumTiles(grad)

type tiledOp struct {
	opBase
	mul    bool // x * tile(b) instead of x + tile(b)
	bShape tensor.Shape
}

func tiled(x, b *G.Node, mul bool) *G.Node {
	if x.Shape().TotalSize()%b.Shape().TotalSize() != 0 {
		panic(fmt.Sprintf("gmodel: cannot tile %v over %v", b.Shape(), x.Shape()))
	}
	op := &tiledOp{
		opBase: opBase{id: fmt.Sprintf("tganTiled(%t,%v,%v)", mul, x.Shape(), b.Shape()), inDims: []int{x.Dims(), b.Dims()}, outDims: x.Dims()},
		mul:    mul, bShape: b.Shape().Clone(),
	}
	return apply(op, x, b)
}

// addTiled returns x + b repeated over x's leading axes.
func addTiled(x, b *G.Node) *G.Node { return tiled(x, b, false) }

// mulTiled returns x * b repeated over x's leading axes.
func mulTiled(x, b *G.Node) *G.Node { return tiled(x, b, true) }

func (o *tiledOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }

func (o *tiledOp) Do(vals ...G.Value) (G.Value, error) {
	x, b := f32(vals[0]), f32(vals[1])
	out := o.buffer(len(x))
	k := len(b)
	for r := 0; r < len(x); r += k {
		xs, os := x[r:r+k], out[r:r+k]
		if o.mul {
			for i, v := range b {
				os[i] = xs[i] * v
			}
		} else {
			for i, v := range b {
				os[i] = xs[i] + v
			}
		}
	}
	return newDense(out, vals[0].Shape().Clone()...), nil
}

func (o *tiledOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *tiledOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if !o.mul {
		return G.Nodes{grad, sumTiles(grad, o.bShape)}, nil
	}
	gx := G.Must(G.HadamardProd(grad, in[0]))
	return G.Nodes{mulTiled(grad, in[1]), sumTiles(gx, o.bShape)}, nil
}

// sumTilesOp sums the consecutive blocks of size |bShape| of its input.
type sumTilesOp struct {
	opBase
	inShape, bShape tensor.Shape
}

func sumTiles(g *G.Node, bShape tensor.Shape) *G.Node {
	op := &sumTilesOp{
		opBase:  opBase{id: fmt.Sprintf("tganSumTiles(%v,%v)", g.Shape(), bShape), inDims: []int{g.Dims()}, outDims: len(bShape)},
		inShape: g.Shape().Clone(), bShape: bShape.Clone(),
	}
	return apply(op, g)
}

func (o *sumTilesOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.bShape.Clone(), nil }

func (o *sumTilesOp) Do(vals ...G.Value) (G.Value, error) {
	g := f32(vals[0])
	k := o.bShape.TotalSize()
	acc := make([]float64, k) // float64 accumulation: bias gradients sum many rows
	for r := 0; r < len(g); r += k {
		for i, v := range g[r : r+k] {
			acc[i] += float64(v)
		}
	}
	out := make([]float32, k)
	for i, v := range acc {
		out[i] = float32(v)
	}
	if len(o.bShape) == 0 {
		return G.NewF32(out[0]), nil
	}
	return newDense(out, o.bShape...), nil
}

func (o *sumTilesOp) DiffWRT(int) []bool { return []bool{true} }

func (o *sumTilesOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{tileOf(grad, o.inShape)}, nil
}

// tileOp repeats b to fill shape.
type tileOp struct {
	opBase
	shape, bShape tensor.Shape
}

// tileOf returns b repeated over the leading axes of shape.
func tileOf(b *G.Node, shape tensor.Shape) *G.Node {
	op := &tileOp{
		opBase: opBase{id: fmt.Sprintf("tganTile(%v,%v)", b.Shape(), shape), inDims: []int{b.Dims()}, outDims: len(shape)},
		shape:  shape.Clone(), bShape: b.Shape().Clone(),
	}
	return apply(op, b)
}

func (o *tileOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }

func (o *tileOp) Do(vals ...G.Value) (G.Value, error) {
	b := f32(vals[0])
	out := o.buffer(o.shape.TotalSize())
	for r := 0; r < len(out); r += len(b) {
		copy(out[r:], b)
	}
	return newDense(out, o.shape...), nil
}

func (o *tileOp) DiffWRT(int) []bool { return []bool{true} }

func (o *tileOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{sumTiles(grad, o.bShape)}, nil
}
