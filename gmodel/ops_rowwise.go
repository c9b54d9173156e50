package gmodel

import (
	"fmt"
	"math"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Row-wise ops over the last axis: softmax (attention) and the
// normalisation half of LayerNorm (the affine half is mulTiled/addTiled).
// Each forward op has a backward op computing the vector-Jacobian product.

type rowKind int

const (
	rowSoftmax rowKind = iota
	rowSoftmaxGrad
	rowNormalize
	rowNormalizeGrad
)

// rowOp applies a row-wise kernel to one or two same-shaped inputs.
type rowOp struct {
	opBase
	kind rowKind
}

func newRowOp(kind rowKind, ins ...*G.Node) *G.Node {
	dims := make([]int, len(ins))
	for i := range ins {
		dims[i] = ins[0].Dims()
	}
	op := &rowOp{opBase: opBase{id: fmt.Sprintf("tganRow(%d,%v)", kind, ins[0].Shape()), inDims: dims, outDims: ins[0].Dims()}, kind: kind}
	return G.Must(G.ApplyOp(op, ins...))
}

// softmax over the last axis.
func softmax(x *G.Node) *G.Node { return newRowOp(rowSoftmax, x) }

// normalize returns (x - mean) / sqrt(var + eps) over the last axis, with
// the biased variance, as torch.nn.LayerNorm does.
func normalize(x *G.Node) *G.Node { return newRowOp(rowNormalize, x) }

func (o *rowOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }

func (o *rowOp) Do(vals ...G.Value) (G.Value, error) {
	shape := vals[0].Shape()
	n := shape[len(shape)-1]
	a := f32(vals[0])
	var b []float32
	if len(vals) > 1 {
		b = f32(vals[1])
	}
	out := make([]float32, len(a))
	rows := len(a) / n
	parallelRows(rows, n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s := r * n
			switch o.kind {
			case rowSoftmax:
				softmaxRow(out[s:s+n], a[s:s+n])
			case rowSoftmaxGrad:
				softmaxGradRow(out[s:s+n], a[s:s+n], b[s:s+n])
			case rowNormalize:
				normalizeRow(out[s:s+n], a[s:s+n])
			case rowNormalizeGrad:
				normalizeGradRow(out[s:s+n], a[s:s+n], b[s:s+n])
			}
		}
	})
	return newDense(out, shape.Clone()...), nil
}

func (o *rowOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = o.kind == rowSoftmax || o.kind == rowNormalize
	}
	return d
}

func (o *rowOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	switch o.kind {
	case rowSoftmax:
		return G.Nodes{newRowOp(rowSoftmaxGrad, out, grad)}, nil
	case rowNormalize:
		return G.Nodes{newRowOp(rowNormalizeGrad, in[0], grad)}, nil
	}
	return nil, fmt.Errorf("%s: second derivative not implemented", o.id)
}

func softmaxRow(dst, x []float32) {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		dst[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range dst {
		dst[i] *= inv
	}
}

// softmaxGradRow: dx = y * (dy - <y, dy>).
func softmaxGradRow(dst, y, dy []float32) {
	var dot float64
	for i := range y {
		dot += float64(y[i]) * float64(dy[i])
	}
	d := float32(dot)
	for i := range y {
		dst[i] = y[i] * (dy[i] - d)
	}
}

func rowStats(x []float32) (mean, inv float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var vr float64
	for _, v := range x {
		d := float64(v) - mean
		vr += d * d
	}
	vr /= float64(len(x))
	return mean, 1 / math.Sqrt(vr+model.LayerNormEps)
}

func normalizeRow(dst, x []float32) {
	mean, inv := rowStats(x)
	for i, v := range x {
		dst[i] = float32((float64(v) - mean) * inv)
	}
}

// normalizeGradRow: dx = inv * (g - mean(g) - xhat * mean(g * xhat)).
func normalizeGradRow(dst, x, g []float32) {
	mean, inv := rowStats(x)
	n := float64(len(x))
	var mg, mgx float64
	for i, v := range x {
		xh := (float64(v) - mean) * inv
		mg += float64(g[i])
		mgx += float64(g[i]) * xh
	}
	mg, mgx = mg/n, mgx/n
	for i, v := range x {
		xh := (float64(v) - mean) * inv
		dst[i] = float32(inv * (float64(g[i]) - mg - xh*mgx))
	}
}
