package gmodel

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// axisMapOp applies a constant matrix M [m, n] along the middle axis of its
// input viewed as [outer, n, inner]: out[o, i, c] = sum_j M[i, j] in[o, j, c]
// (with adj, M^T: [outer, m, inner] -> [outer, n, inner]). Every fixed
// linear resampling of the new families is one: bicubic x2 upsampling and
// the updown filter along each axis, 2x2 average pooling, the im2col of an
// overlapping, zero-padded convolution, the channel mean and broadcast of
// PixelNorm, the channel broadcast of attention noise. Its derivative is
// the adjoint op and the adjoint's is the op itself, so every order of
// derivative is exact.
type axisMapOp struct {
	opBase
	kind               string    // names the matrix: equal kinds and sizes have equal matrices
	mat                []float32 // [m, n], row-major
	outer, n, inner, m int
	adj                bool
	inShape, outShape  tensor.Shape
}

// axisMap applies mat [m, n] (named kind) along the middle axis of x viewed
// as [outer, n, inner] and returns shape out ([outer, m, inner] values).
func axisMap(x *G.Node, kind string, mat []float32, m, outer, n, inner int, out ...int) *G.Node {
	return applyAxisMap(x, kind, mat, m, outer, n, inner, false, out)
}

func applyAxisMap(x *G.Node, kind string, mat []float32, m, outer, n, inner int, adj bool, out []int) *G.Node {
	inMid, outMid := n, m
	if adj {
		inMid, outMid = m, n
	}
	if len(mat) != m*n || x.Shape().TotalSize() != outer*inMid*inner || tensor.Shape(out).TotalSize() != outer*outMid*inner {
		panic(fmt.Sprintf("gmodel: axis map %s [%d,%d] of %v as [%d,%d,%d] to %v", kind, m, n, x.Shape(), outer, inMid, inner, out))
	}
	op := &axisMapOp{
		opBase: opBase{id: fmt.Sprintf("tganAxisMap(%s,%d,%d,%d,%d,%t,%v,%v)", kind, m, outer, n, inner, adj, x.Shape(), out),
			inDims: []int{x.Dims()}, outDims: len(out)},
		kind: kind, mat: mat, outer: outer, n: n, inner: inner, m: m, adj: adj,
		inShape: x.Shape().Clone(), outShape: tensor.Shape(out).Clone(),
	}
	return apply(op, x)
}

func (o *axisMapOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.outShape.Clone(), nil }

func (o *axisMapOp) Do(vals ...G.Value) (G.Value, error) {
	in := f32(vals[0])
	out := o.buffer(o.outShape.TotalSize())
	impl := G.WhichBLAS()
	m, n, inner := o.m, o.n, o.inner
	if o.inner == 1 { // one product: rows of in times M^T (or M)
		if o.adj { // [outer, m] x M [m, n]
			impl.Sgemm(blas.NoTrans, blas.NoTrans, o.outer, n, m, 1, in, m, o.mat, n, 0, out, n)
		} else { // [outer, n] x M^T
			impl.Sgemm(blas.NoTrans, blas.Trans, o.outer, m, n, 1, in, n, o.mat, n, 0, out, m)
		}
		return newDense(out, o.outShape...), nil
	}
	for r := 0; r < o.outer; r++ {
		if o.adj { // M^T [n, m] x in [m, inner]
			impl.Sgemm(blas.Trans, blas.NoTrans, n, inner, m, 1, o.mat, n, in[r*m*inner:(r+1)*m*inner], inner, 0, out[r*n*inner:(r+1)*n*inner], inner)
		} else { // M [m, n] x in [n, inner]
			impl.Sgemm(blas.NoTrans, blas.NoTrans, m, inner, n, 1, o.mat, n, in[r*n*inner:(r+1)*n*inner], inner, 0, out[r*m*inner:(r+1)*m*inner], inner)
		}
	}
	return newDense(out, o.outShape...), nil
}

func (o *axisMapOp) DiffWRT(int) []bool { return []bool{true} }

func (o *axisMapOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{applyAxisMap(grad, o.kind, o.mat, o.m, o.outer, o.n, o.inner, !o.adj, o.inShape)}, nil
}

// Describe: see AxisMapSpec.
func (o *axisMapOp) Describe() OpSpec {
	return AxisMapSpec{Matrix: append([]float32(nil), o.mat...), M: o.m, Outer: o.outer, N: o.n, Inner: o.inner,
		Adjoint: o.adj, Out: append([]int(nil), o.outShape...)}
}
