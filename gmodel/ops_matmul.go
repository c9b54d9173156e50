package gmodel

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// matmulOp multiplies matrices, or stacks of matrices (rank 3: [batch, rows,
// cols] with the same batch on both sides), with optional transposes,
// through the BLAS set with G.Use. Its gradient is two more matmulOps, so it
// is differentiable to any order.
type matmulOp struct {
	opBase
	transA, transB bool
}

func newMatmul(rank int, transA, transB bool) *matmulOp {
	return &matmulOp{
		opBase: opBase{id: fmt.Sprintf("tganMatMul(%d,%t,%t)", rank, transA, transB), inDims: []int{rank, rank}, outDims: rank},
		transA: transA, transB: transB,
	}
}

// matmul returns op(a) x op(b) for rank-2 or rank-3 nodes.
func matmul(a, b *G.Node, transA, transB bool) *G.Node {
	return apply(newMatmul(a.Dims(), transA, transB), a, b)
}

func (o *matmulOp) dims(a, b tensor.Shape) (batch, m, k, n int) {
	r := len(a)
	batch = 1
	if r == 3 {
		batch = a[0]
	}
	m, k = a[r-2], a[r-1]
	if o.transA {
		m, k = k, m
	}
	n = b[r-1]
	if o.transB {
		n = b[r-2]
	}
	return
}

func (o *matmulOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	a, b := shapeOf(in[0]), shapeOf(in[1])
	batch, m, k, n := o.dims(a, b)
	kb := b[len(b)-2]
	if o.transB {
		kb = b[len(b)-1]
	}
	if k != kb || (len(a) == 3 && a[0] != b[0]) {
		return nil, fmt.Errorf("%s: shapes %v and %v do not match", o.id, a, b)
	}
	if len(a) == 3 {
		return tensor.Shape{batch, m, n}, nil
	}
	return tensor.Shape{m, n}, nil
}

func (o *matmulOp) Do(vals ...G.Value) (G.Value, error) {
	sa, sb := vals[0].Shape(), vals[1].Shape()
	batch, m, k, n := o.dims(sa, sb)
	a, b := f32(vals[0]), f32(vals[1])
	c := o.buffer(batch * m * n)
	ta, tb, lda, ldb := blas.NoTrans, blas.NoTrans, k, n
	if o.transA {
		ta, lda = blas.Trans, m
	}
	if o.transB {
		tb, ldb = blas.Trans, k
	}
	impl := G.WhichBLAS()
	for i := 0; i < batch; i++ {
		impl.Sgemm(ta, tb, m, n, k, 1, a[i*m*k:(i+1)*m*k], lda, b[i*k*n:(i+1)*k*n], ldb, 0, c[i*m*n:(i+1)*m*n], n)
	}
	if len(sa) == 3 {
		return newDense(c, batch, m, n), nil
	}
	return newDense(c, m, n), nil
}

func (o *matmulOp) DiffWRT(int) []bool { return []bool{true, true} }

func (o *matmulOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	a, b := in[0], in[1]
	var da, db *G.Node
	switch {
	case !o.transA && !o.transB: // C = A B
		da, db = matmul(grad, b, false, true), matmul(a, grad, true, false)
	case !o.transA && o.transB: // C = A B^T
		da, db = matmul(grad, b, false, false), matmul(grad, a, true, false)
	case o.transA && !o.transB: // C = A^T B
		da, db = matmul(b, grad, false, true), matmul(a, grad, false, false)
	default: // C = A^T B^T
		da, db = matmul(b, grad, true, true), matmul(grad, a, true, true)
	}
	return G.Nodes{da, db}, nil
}
