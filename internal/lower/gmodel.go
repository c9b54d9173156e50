package lower

import (
	"fmt"
	"math"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	G "gorgonia.org/gorgonia"
)

// gmodelOp lowers gmodel's ops, which describe themselves
// (gmodel.Described); handled is false for other packages' ops.
func (l *Lowerer) gmodelOp(n *G.Node, kids G.Nodes, ins []string) (string, bool, error) {
	op, ok := n.Op().(gmodel.Described)
	if !ok {
		return "", false, nil
	}
	out := []int(n.Shape())
	var v string
	switch s := op.Describe().(type) {
	case gmodel.MatMulSpec:
		v = l.matmul(ins[0], ins[1], kids[0].Dims(), s.TransA, s.TransB)
	case gmodel.ReshapeSpec:
		v = l.Reshape(ins[0], out)
	case gmodel.PermuteSpec:
		v = l.Transpose(ins[0], s.Perm...)
	case gmodel.TiledSpec:
		v = l.tiled(ins[0], ins[1], kids[0].Shape(), kids[1].Shape(), s.Mul)
	case gmodel.SumTilesSpec:
		v = l.sumTiles(ins[0], kids[0].Shape(), out)
	case gmodel.TileSpec:
		v = l.tileOf(ins[0], kids[0].Shape(), out)
	case gmodel.RowSpec:
		v = l.rowOp(s.Kind, ins, out[len(out)-1])
	case gmodel.GELUSpec:
		v = l.gelu(s.Order, ins)
	case gmodel.RelBiasSpec:
		v = l.relBias(ins[0], s.Index, s.Entries, s.Heads, s.Tokens, s.Scatter)
	case gmodel.SliceSpec:
		v = l.slice(ins[0], s.Outer, s.N, s.Inner, s.Lo, s.Hi, s.Pad, out)
	case gmodel.AxisMapSpec:
		v = l.axisMap(ins[0], s, out)
	case gmodel.PowSpec:
		p := l.op("Pow", l.Add(ins[0], l.Float(float32(s.Eps))), l.Float(float32(s.P)))
		v = l.Mul(l.Float(float32(s.Coef)), p)
	default:
		return "", false, fmt.Errorf("lower: no ONNX lowering for gmodel op %s (%T, %T)", n.Op(), n.Op(), s)
	}
	return v, true, nil
}

// matmul is op(a) x op(b) for rank-2 (Gemm) or rank-3 (batched MatMul).
func (l *Lowerer) matmul(a, b string, rank int, transA, transB bool) string {
	if rank == 2 {
		return l.G.Op("Gemm", []string{a, b}, onnx.AttrInt("transA", b2i(transA)), onnx.AttrInt("transB", b2i(transB)))
	}
	if transA {
		a = l.Transpose(a, 0, 2, 1)
	}
	if transB {
		b = l.Transpose(b, 0, 2, 1)
	}
	return l.op("MatMul", a, b)
}

// tiled is x + tile(b) or x * tile(b), b repeated over x's leading axes.
func (l *Lowerer) tiled(x, b string, xs, bs []int, mul bool) string {
	apply := l.Add
	if mul {
		apply = l.Mul
	}
	if suffixOf(bs, xs) || total(bs) == 1 {
		return apply(x, b)
	}
	k := total(bs)
	y := apply(l.Reshape(x, []int{total(xs) / k, k}), l.Reshape(b, []int{k}))
	return l.Reshape(y, xs)
}

// sumTiles sums g's consecutive blocks of |out| values.
func (l *Lowerer) sumTiles(g string, gs, out []int) string {
	if suffixOf(out, gs) {
		lead := len(gs) - len(out)
		if lead == 0 {
			return l.op("Identity", g)
		}
		axes := make([]int, lead)
		for i := range axes {
			axes[i] = i
		}
		return l.ReduceSum(g, false, axes...)
	}
	k := total(out)
	s := l.ReduceSum(l.Reshape(g, []int{total(gs) / k, k}), false, 0)
	return l.Reshape(s, out)
}

// tileOf repeats b over the leading axes of out.
func (l *Lowerer) tileOf(b string, bs, out []int) string {
	if suffixOf(bs, out) {
		return l.Expand(b, out)
	}
	k := total(bs)
	e := l.Expand(l.Reshape(b, []int{1, k}), []int{total(out) / k, k})
	return l.Reshape(e, out)
}

// rowOp lowers softmax and LayerNorm's normalisation over the last axis,
// their VJPs and the second-order VJPs (formulas of gmodel/ops_rowwise.go).
func (l *Lowerer) rowOp(kind gmodel.RowKind, ins []string, n int) string {
	rsum := func(x string) string { return l.ReduceSum(x, true, -1) }
	rmean := func(x string) string { return l.ReduceMean(x, true, -1) }
	switch kind {
	case gmodel.RowSoftmax:
		return l.G.Op("Softmax", []string{ins[0]}, onnx.AttrInt("axis", -1))
	case gmodel.RowSoftmaxGrad: // y * (g - <y, g>)
		y, g := ins[0], ins[1]
		return l.Mul(y, l.Sub(g, rsum(l.Mul(y, g))))
	case gmodel.RowSoftmaxGradY: // u*(g - <y,g>) - g*<u,y>
		y, g, u := ins[0], ins[1], ins[2]
		return l.Sub(l.Mul(u, l.Sub(g, rsum(l.Mul(y, g)))), l.Mul(g, rsum(l.Mul(u, y))))
	}
	x := ins[0]
	if kind == gmodel.RowNormalize {
		return l.normalize(x, n)
	}
	mean, inv := l.stats(x)
	xh := l.Mul(l.Sub(x, mean), inv)
	switch kind {
	case gmodel.RowNormalizeGrad: // inv * (g - mean g - xh * mean(g xh))
		g := ins[1]
		return l.Mul(inv, l.Sub(l.Sub(g, rmean(g)), l.Mul(xh, rmean(l.Mul(g, xh)))))
	}
	// gmodel.RowNormalizeGradX: inv^2 * ((3 m mu - A) xh - mu (g - gm) - m (u - um)),
	// m = mean g xh, mu = mean u xh, A = mean(u g) - um gm.
	g, u := ins[1], ins[2]
	gm, um := rmean(g), rmean(u)
	m, mu := rmean(l.Mul(g, xh)), rmean(l.Mul(u, xh))
	a := l.Sub(rmean(l.Mul(u, g)), l.Mul(um, gm))
	coef := l.Sub(l.Mul(l.Float(3), l.Mul(m, mu)), a)
	d := l.Sub(l.Sub(l.Mul(coef, xh), l.Mul(mu, l.Sub(g, gm))), l.Mul(m, l.Sub(u, um)))
	return l.Mul(l.Mul(inv, inv), d)
}

// normalize is LayerNormalization without the affine part (scale ones);
// its row mean and inverse deviation outputs are kept for the backward ops
// on the same x.
func (l *Lowerer) normalize(x string, n int) string {
	scale := l.ones(n)
	outs := l.G.Node("LayerNormalization", []string{x, scale}, []string{"", "", ""},
		onnx.AttrInt("axis", -1), onnx.AttrFloat("epsilon", float32(model.LayerNormEps)))
	if _, ok := l.rowStats[x]; !ok {
		l.rowStats[x] = [2]string{outs[1], outs[2]}
	}
	return outs[0]
}

// ones is a float32 constant vector of n ones, shared per n.
func (l *Lowerer) ones(n int) string {
	if name, ok := l.onesOf[n]; ok {
		return name
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	name := l.G.Initializer(l.fresh("ones"), []int{n}, v)
	l.onesOf[n] = name
	return name
}

// stats returns the row mean and 1/sqrt(biased var + eps) of x, lowered once
// per x (forward and backward share them).
func (l *Lowerer) stats(x string) (mean, inv string) {
	if s, ok := l.rowStats[x]; ok {
		return s[0], s[1]
	}
	mean = l.ReduceMean(x, true, -1)
	d := l.Sub(x, mean)
	vr := l.ReduceMean(l.Mul(d, d), true, -1)
	inv = l.op("Reciprocal", l.op("Sqrt", l.Add(vr, l.Float(model.LayerNormEps))))
	l.rowStats[x] = [2]string{mean, inv}
	return mean, inv
}

// gelu lowers the exact GELU (order 0) and g times its first or second
// derivative.
func (l *Lowerer) gelu(order int, ins []string) string {
	x := ins[0]
	cdf := l.Mul(l.Float(0.5), l.Add(l.Float(1), l.op("Erf", l.Mul(x, l.Float(float32(1/math.Sqrt2))))))
	if order == 0 {
		return l.Mul(x, cdf)
	}
	x2 := l.Mul(x, x)
	pdf := l.Mul(l.op("Exp", l.Mul(x2, l.Float(-0.5))), l.Float(float32(1/math.Sqrt(2*math.Pi))))
	g := ins[1]
	if order == 1 {
		return l.Mul(g, l.Add(cdf, l.Mul(x, pdf)))
	}
	return l.Mul(g, l.Mul(pdf, l.Sub(l.Float(2), x2)))
}

// relBias gathers table [T, heads] into [heads, N, N] by index, or (scatter)
// sums a bias gradient back into the table: each table entry gathers its K
// positions from a padded [T, K] index (pad -> an appended zero) and a
// ReduceSum adds them, which avoids ScatterElements' reduction.
func (l *Lowerer) relBias(x string, index []int64, entries, heads, tokens int, scatter bool) string {
	nn := tokens * tokens
	if !scatter {
		g := l.Gather(l.Transpose(x, 1, 0), 1, []int{nn}, index)
		return l.Reshape(g, []int{heads, tokens, tokens})
	}
	pos := make([][]int64, entries)
	k := 1
	for p, e := range index {
		pos[e] = append(pos[e], int64(p))
		k = max(k, len(pos[e]))
	}
	padded := make([]int64, entries*k)
	for e := range pos {
		for j := 0; j < k; j++ {
			padded[e*k+j] = int64(nn) // the appended zero
			if j < len(pos[e]) {
				padded[e*k+j] = pos[e][j]
			}
		}
	}
	flat := l.Reshape(x, []int{heads, nn})
	ext := l.G.Op("Concat", []string{flat, l.Zeros([]int{heads, 1})}, onnx.AttrInt("axis", 1))
	g := l.Gather(ext, 1, []int{entries, k}, padded) // [heads, T, K]
	return l.Transpose(l.ReduceSum(g, false, 2), 1, 0)
}

// slice keeps [lo, hi) of the middle axis of x viewed as [outer, n, inner],
// or (pad) places x into zeros at that range.
func (l *Lowerer) slice(x string, outer, n, inner, lo, hi int, pad bool, out []int) string {
	if pad {
		x = l.Reshape(x, []int{outer, hi - lo, inner})
		p := l.G.Op("Pad", []string{x, l.G.Int64s(0, int64(lo), 0, 0, int64(n-hi), 0)})
		return l.Reshape(p, out)
	}
	x = l.Reshape(x, []int{outer, n, inner})
	s := l.op("Slice", x, l.G.Int64s(int64(lo)), l.G.Int64s(int64(hi)), l.G.Int64s(1))
	return l.Reshape(s, out)
}

// axisMap applies a constant matrix along the middle axis of x viewed as
// [outer, n, inner] (or its transpose for the adjoint): a MatMul of the
// matrix initializer with x, broadcast over outer.
func (l *Lowerer) axisMap(x string, s gmodel.AxisMapSpec, out []int) string {
	mat, rows, cols := s.Matrix, s.M, s.N
	if s.Adjoint {
		t := make([]float32, len(mat))
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.N; j++ {
				t[j*s.M+i] = mat[i*s.N+j]
			}
		}
		mat, rows, cols = t, s.N, s.M
	}
	w := l.G.Initializer(l.fresh("axismap"), []int{rows, cols}, mat)
	y := l.op("MatMul", w, l.Reshape(x, []int{s.Outer, cols, s.Inner}))
	return l.Reshape(y, out)
}
