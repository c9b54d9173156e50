package gmodel

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshapeOp copies its input into a new shape. Gorgonia's own Reshape
// returns a view the tape does not track (ENV.md: a forward-only graph
// doubled its input on each run), so every reshape in tgan copies.
type reshapeOp struct {
	opBase
	from, to tensor.Shape
}

// reshape returns x viewed (copied) as the given shape.
func reshape(x *G.Node, to ...int) *G.Node {
	from := x.Shape().Clone()
	if from.TotalSize() != tensor.Shape(to).TotalSize() {
		panic(fmt.Sprintf("gmodel: reshape %v to %v", from, to))
	}
	op := &reshapeOp{
		opBase: opBase{id: fmt.Sprintf("tganReshape(%v->%v)", from, to), inDims: []int{len(from)}, outDims: len(to)},
		from:   from, to: tensor.Shape(to).Clone(),
	}
	return apply(op, x)
}

func (o *reshapeOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.to.Clone(), nil }

func (o *reshapeOp) Do(vals ...G.Value) (G.Value, error) {
	out := o.buffer(o.to.TotalSize())
	copy(out, f32(vals[0]))
	return newDense(out, o.to...), nil
}

func (o *reshapeOp) DiffWRT(int) []bool { return []bool{true} }

func (o *reshapeOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{reshape(grad, o.from...)}, nil
}

// permuteOp copies its input with the axes reordered: out axis i is input
// axis perm[i] (numpy.transpose semantics). Its gradient is the inverse
// permutation.
type permuteOp struct {
	opBase
	perm []int
	in   tensor.Shape
}

// permute returns x with axes reordered (a materialised copy).
func permute(x *G.Node, perm ...int) *G.Node {
	op := &permuteOp{
		opBase: opBase{id: fmt.Sprintf("tganPermute(%v,%v)", x.Shape(), perm), inDims: []int{x.Dims()}, outDims: x.Dims()},
		perm:   perm, in: x.Shape().Clone(),
	}
	return apply(op, x)
}

func (o *permuteOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	out := make(tensor.Shape, len(o.perm))
	for i, p := range o.perm {
		out[i] = o.in[p]
	}
	return out, nil
}

func (o *permuteOp) Do(vals ...G.Value) (G.Value, error) {
	src := f32(vals[0])
	out, _ := o.InferShape()
	dst := o.buffer(len(src))
	permuteInto(dst, src, o.in, o.perm)
	return newDense(dst, out...), nil
}

// permuteInto writes src (shape in) transposed by perm into dst.
func permuteInto(dst, src []float32, in tensor.Shape, perm []int) {
	r := len(in)
	inStride := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= in[i]
	}
	outShape := make([]int, r)
	step := make([]int, r) // input stride of each output axis
	for i, p := range perm {
		outShape[i], step[i] = in[p], inStride[p]
	}
	// Walk the output in order, copying the innermost axis in a tight loop.
	idx := make([]int, r)
	last, lastStep, lastN := r-1, step[r-1], outShape[r-1]
	for o := 0; o < len(dst); o += lastN {
		base := 0
		for i := 0; i < last; i++ {
			base += idx[i] * step[i]
		}
		for j := 0; j < lastN; j++ {
			dst[o+j] = src[base+j*lastStep]
		}
		for i := last - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < outShape[i] {
				break
			}
			idx[i] = 0
		}
	}
}

func (o *permuteOp) DiffWRT(int) []bool { return []bool{true} }

func (o *permuteOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	inv := make([]int, len(o.perm))
	for i, p := range o.perm {
		inv[p] = i
	}
	return G.Nodes{permute(grad, inv...)}, nil
}
