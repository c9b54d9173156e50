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

// RowKind says which row-wise kernel a rowOp applies (see RowSpec). Rows
// are the last axis; the operands all have the same shape.
type RowKind int

const (
	RowSoftmax       RowKind = iota // (x): softmax(x)
	RowSoftmaxGrad                  // (y, g): y * (g - <y, g>), y = softmax output
	RowNormalize                    // (x): (x - mean) / sqrt(biased var + model.LayerNormEps)
	RowNormalizeGrad                // (x, g): VJP of RowNormalize at x for g
	// RowSoftmaxGradY (y, g, u): d softmaxGrad / d y for the upstream u,
	// u * (g - <y, g>) - g * <u, y>.
	RowSoftmaxGradY
	// RowNormalizeGradX (x, g, u): d normalizeGrad / d x for the upstream u
	// (formula at normalizeGradXRow).
	RowNormalizeGradX
)

// rowOp applies a row-wise kernel to one, two or three same-shaped inputs.
type rowOp struct {
	opBase
	kind RowKind
}

func newRowOp(kind RowKind, ins ...*G.Node) *G.Node {
	dims := make([]int, len(ins))
	for i := range ins {
		dims[i] = ins[0].Dims()
	}
	op := &rowOp{opBase: opBase{id: fmt.Sprintf("tganRow(%d,%v)", kind, ins[0].Shape()), inDims: dims, outDims: ins[0].Dims()}, kind: kind}
	return apply(op, ins...)
}

// softmax over the last axis.
func softmax(x *G.Node) *G.Node { return newRowOp(RowSoftmax, x) }

// normalize returns (x - mean) / sqrt(var + eps) over the last axis, with
// the biased variance, as torch.nn.LayerNorm does.
func normalize(x *G.Node) *G.Node { return newRowOp(RowNormalize, x) }

func (o *rowOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }

func (o *rowOp) Do(vals ...G.Value) (G.Value, error) {
	shape := vals[0].Shape()
	n := shape[len(shape)-1]
	a := f32(vals[0])
	var b, c []float32
	if len(vals) > 1 {
		b = f32(vals[1])
	}
	if len(vals) > 2 {
		c = f32(vals[2])
	}
	out := o.buffer(len(a))
	if o.kind == RowSoftmax {
		softmaxRows(out, a, n)
		return newDense(out, shape.Clone()...), nil
	}
	rows := len(a) / n
	parallelRows(rows, n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			s := r * n
			switch o.kind {
			case RowSoftmaxGrad:
				softmaxGradRow(out[s:s+n], a[s:s+n], b[s:s+n])
			case RowNormalize:
				normalizeRow(out[s:s+n], a[s:s+n])
			case RowNormalizeGrad:
				normalizeGradRow(out[s:s+n], a[s:s+n], b[s:s+n])
			case RowSoftmaxGradY:
				softmaxGradYRow(out[s:s+n], a[s:s+n], b[s:s+n], c[s:s+n])
			case RowNormalizeGradX:
				normalizeGradXRow(out[s:s+n], a[s:s+n], b[s:s+n], c[s:s+n])
			}
		}
	})
	return newDense(out, shape.Clone()...), nil
}

func (o *rowOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = o.kind <= RowNormalizeGrad
	}
	return d
}

func (o *rowOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	switch o.kind {
	case RowSoftmax:
		return G.Nodes{newRowOp(RowSoftmaxGrad, out, grad)}, nil
	case RowNormalize:
		return G.Nodes{newRowOp(RowNormalizeGrad, in[0], grad)}, nil
	case RowSoftmaxGrad: // f(y, g) = y*(g - <y,g>): d/dg is self-adjoint
		return G.Nodes{newRowOp(RowSoftmaxGradY, in[0], in[1], grad), newRowOp(RowSoftmaxGrad, in[0], grad)}, nil
	case RowNormalizeGrad: // linear and symmetric in g
		return G.Nodes{newRowOp(RowNormalizeGradX, in[0], in[1], grad), newRowOp(RowNormalizeGrad, in[0], grad)}, nil
	}
	return nil, fmt.Errorf("%s: second derivative not implemented", o.id)
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

// softmaxGradYRow is the VJP of softmaxGrad(y, g) with respect to y for the
// upstream u: u*(g - <y,g>) - g*<u,y>.
func softmaxGradYRow(dst, y, g, u []float32) {
	var yg, uy float64
	for i := range y {
		yg += float64(y[i]) * float64(g[i])
		uy += float64(u[i]) * float64(y[i])
	}
	for i := range y {
		dst[i] = float32(float64(u[i])*(float64(g[i])-yg) - float64(g[i])*uy)
	}
}

// normalizeGradXRow is the VJP of normalizeGrad(x, g) with respect to x for
// the upstream u. With s = sigma, xh = (x-mean)/s, means over the row
// (gm = mean g, um = mean u, m = mean g*xh, mu = mean u*xh) and
// A = sum u*g - n*um*gm, U = n*mu:
// dx_k = (-A*xh_k/n - U*(g_k - gm - m*xh_k)/n - m*(u_k - um - mu*xh_k) + m*U*xh_k/n) / s^2.
func normalizeGradXRow(dst, x, g, u []float32) {
	mean, inv := rowStats(x)
	n := float64(len(x))
	var gm, um, m, mu, ug float64
	for i, v := range x {
		xh := (float64(v) - mean) * inv
		gm += float64(g[i])
		um += float64(u[i])
		m += float64(g[i]) * xh
		mu += float64(u[i]) * xh
		ug += float64(u[i]) * float64(g[i])
	}
	gm, um, m, mu = gm/n, um/n, m/n, mu/n
	a, bigU := ug-n*um*gm, n*mu
	for k, v := range x {
		xh := (float64(v) - mean) * inv
		d := -a*xh/n - bigU*(float64(g[k])-gm-m*xh)/n - m*(float64(u[k])-um-mu*xh) + m*bigU*xh/n
		dst[k] = float32(d * inv * inv)
	}
}
