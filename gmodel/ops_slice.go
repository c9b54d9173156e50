package gmodel

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// sliceOp views its input as [outer, n, inner] and keeps the middle range
// [lo, hi) (pad=false), or does the adjoint: places its input into zeros of
// middle size n at offset lo (pad=true). Slicing selects q/k/v, the cls
// token and the channel halves of the final D; padding plus Add replaces
// Concat. The two are each other's derivative, to any order.
type sliceOp struct {
	opBase
	outer, n, inner, lo, hi int
	pad                     bool
	outShape, inShape       tensor.Shape
}

// sliceMid keeps [lo, hi) of the middle axis of x viewed as [outer, n,
// inner] and returns it with shape out.
func sliceMid(x *G.Node, outer, n, inner, lo, hi int, out ...int) *G.Node {
	return applySlice(x, outer, n, inner, lo, hi, false, out)
}

// padMid is the adjoint of sliceMid: x [outer, hi-lo, inner] placed into
// zeros of [outer, n, inner], returned with shape out.
func padMid(x *G.Node, outer, n, inner, lo, hi int, out ...int) *G.Node {
	return applySlice(x, outer, n, inner, lo, hi, true, out)
}

func applySlice(x *G.Node, outer, n, inner, lo, hi int, pad bool, out []int) *G.Node {
	want := outer * (hi - lo) * inner
	if !pad && x.Shape().TotalSize() != outer*n*inner || pad && x.Shape().TotalSize() != want {
		panic(fmt.Sprintf("gmodel: slice of %v as [%d,%d,%d][%d:%d]", x.Shape(), outer, n, inner, lo, hi))
	}
	op := &sliceOp{
		opBase: opBase{id: fmt.Sprintf("tganSlice(%d,%d,%d,%d,%d,%t,%v,%v)", outer, n, inner, lo, hi, pad, x.Shape(), out),
			inDims: []int{x.Dims()}, outDims: len(out)},
		outer: outer, n: n, inner: inner, lo: lo, hi: hi, pad: pad,
		outShape: tensor.Shape(out).Clone(), inShape: x.Shape().Clone(),
	}
	return apply(op, x)
}

func (o *sliceOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.outShape.Clone(), nil }

func (o *sliceOp) Do(vals ...G.Value) (G.Value, error) {
	in := f32(vals[0])
	k := (o.hi - o.lo) * o.inner
	big, off := o.n*o.inner, o.lo*o.inner
	out := o.buffer(o.outShape.TotalSize())
	if o.pad {
		clear(out)
	}
	for r := 0; r < o.outer; r++ {
		if o.pad {
			copy(out[r*big+off:r*big+off+k], in[r*k:(r+1)*k])
		} else {
			copy(out[r*k:(r+1)*k], in[r*big+off:r*big+off+k])
		}
	}
	return newDense(out, o.outShape...), nil
}

func (o *sliceOp) DiffWRT(int) []bool { return []bool{true} }

func (o *sliceOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{applySlice(grad, o.outer, o.n, o.inner, o.lo, o.hi, !o.pad, o.inShape)}, nil
}
