package gmodel

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// relBiasOp expands a relative-position table [T, heads] into the additive
// attention bias [heads, N, N]: out[h,i,j] = table[index[i*N+j], h]. With
// scatter=true it is the adjoint (bias gradient -> table gradient); the two
// are each other's derivative.
type relBiasOp struct {
	opBase
	index   []int64
	heads   int
	tokens  int
	entries int
	scatter bool
}

func relBias(table *G.Node, index []int64, tokens int) *G.Node {
	s := table.Shape()
	op := &relBiasOp{
		opBase: opBase{id: fmt.Sprintf("tganRelBias(%v,%d)", s, tokens), inDims: []int{2}, outDims: 3},
		index:  index, entries: s[0], heads: s[1], tokens: tokens,
	}
	return apply(op, table)
}

func (o *relBiasOp) adjoint() *relBiasOp {
	a := *o
	a.scatter = !o.scatter
	a.id = fmt.Sprintf("tganRelBias(%d,%d,%d,scatter=%t)", o.entries, o.heads, o.tokens, a.scatter)
	a.inDims, a.outDims = []int{o.outDims}, o.inDims[0]
	return &a
}

func (o *relBiasOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.scatter {
		return tensor.Shape{o.entries, o.heads}, nil
	}
	return tensor.Shape{o.heads, o.tokens, o.tokens}, nil
}

func (o *relBiasOp) Do(vals ...G.Value) (G.Value, error) {
	in := f32(vals[0])
	nn := o.tokens * o.tokens
	if o.scatter {
		out := o.zeroed(o.entries * o.heads)
		for h := 0; h < o.heads; h++ {
			for p, idx := range o.index {
				out[int(idx)*o.heads+h] += in[h*nn+p]
			}
		}
		return newDense(out, o.entries, o.heads), nil
	}
	out := o.buffer(o.heads * nn)
	for h := 0; h < o.heads; h++ {
		for p, idx := range o.index {
			out[h*nn+p] = in[int(idx)*o.heads+h]
		}
	}
	return newDense(out, o.heads, o.tokens, o.tokens), nil
}

func (o *relBiasOp) DiffWRT(int) []bool { return []bool{true} }

func (o *relBiasOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{apply(o.adjoint(), grad)}, nil
}
