package gmodel

import (
	"slices"

	G "gorgonia.org/gorgonia"
)

// Exporters (internal/lower turns the training graphs into ONNX) need to
// know what each custom op of this package computes. Every op therefore
// describes itself with one of the OpSpec types below: an exported, typed
// copy of its parameters, so a renamed field fails to compile instead of
// failing when a graph is lowered. The descriptions say what the op
// computes in terms of its operands (a node's children, in order) and
// carry no knowledge of any exchange format.

// Described is implemented by every custom op of this package.
type Described interface {
	G.Op
	// Describe returns the op's kind and parameters. Slices in the result
	// are copies: changing them does not change the op.
	Describe() OpSpec
}

// OpSpec is the description of one op: one of MatMulSpec, ReshapeSpec,
// PermuteSpec, TiledSpec, SumTilesSpec, TileSpec, RowSpec, GELUSpec,
// RelBiasSpec, SliceSpec, AxisMapSpec or PowSpec. A type switch over them
// is exhaustive.
type OpSpec interface{ isOpSpec() }

// MatMulSpec: op(a) x op(b) for operands (a, b), op the transpose of the
// last two axes where asked. Rank 2 is a matrix product; rank 3 a batch of
// them over the leading axis.
type MatMulSpec struct{ TransA, TransB bool }

// ReshapeSpec: the operand's values (row-major order) in shape To.
type ReshapeSpec struct{ To []int }

// PermuteSpec: the operand with axes reordered; output axis i is operand
// axis Perm[i] (numpy.transpose).
type PermuteSpec struct{ Perm []int }

// TiledSpec: x + tile(b), or x * tile(b) when Mul, for operands (x, b):
// b repeated over x's leading axes (|x| is a multiple of |b|).
type TiledSpec struct{ Mul bool }

// SumTilesSpec: the sum of the operand's consecutive blocks of
// |Shape| values, in shape Shape (the adjoint of TileSpec).
type SumTilesSpec struct{ Shape []int }

// TileSpec: the operand repeated to fill Shape.
type TileSpec struct{ Shape []int }

// RowSpec: a row-wise kernel over the last axis; Kind says which and how
// many operands it takes.
type RowSpec struct{ Kind RowKind }

// GELUSpec: the exact GELU 0.5 x (1 + erf(x/sqrt 2)) for Order 0 with
// operand x; g times its Order-th derivative at x for operands (x, g).
type GELUSpec struct{ Order int }

// RelBiasSpec: the relative-position gather. With Scatter false, table
// [Entries, Heads] -> out [Heads, Tokens, Tokens] with
// out[h, p/Tokens, p%Tokens] = table[Index[p], h]. With Scatter true, the
// adjoint: out [Entries, Heads] with out[e, h] = sum over p with
// Index[p] == e of in[h, p/Tokens, p%Tokens].
type RelBiasSpec struct {
	Index                  []int64 // Tokens*Tokens entries in [0, Entries)
	Entries, Heads, Tokens int
	Scatter                bool
}

// SliceSpec: the operand viewed as [Outer, N, Inner] keeps the middle
// range [Lo, Hi); with Pad, the adjoint: the operand [Outer, Hi-Lo, Inner]
// placed into zeros of [Outer, N, Inner] at Lo. The result has shape Out.
type SliceSpec struct {
	Outer, N, Inner, Lo, Hi int
	Pad                     bool
	Out                     []int
}

// AxisMapSpec: a constant matrix Matrix [M, N] (row-major) applied along
// the middle axis of the operand viewed as [Outer, N, Inner]:
// out[o, i, c] = sum_j Matrix[i, j] x[o, j, c]. With Adjoint, its
// transpose: the operand [Outer, M, Inner] -> [Outer, N, Inner]. The
// result has shape Out.
type AxisMapSpec struct {
	Matrix             []float32
	M, Outer, N, Inner int
	Adjoint            bool
	Out                []int
}

// PowSpec: elementwise Coef * (x + Eps)^P.
type PowSpec struct{ Coef, Eps, P float64 }

func (MatMulSpec) isOpSpec()   {}
func (AxisMapSpec) isOpSpec()  {}
func (PowSpec) isOpSpec()      {}
func (ReshapeSpec) isOpSpec()  {}
func (PermuteSpec) isOpSpec()  {}
func (TiledSpec) isOpSpec()    {}
func (SumTilesSpec) isOpSpec() {}
func (TileSpec) isOpSpec()     {}
func (RowSpec) isOpSpec()      {}
func (GELUSpec) isOpSpec()     {}
func (RelBiasSpec) isOpSpec()  {}
func (SliceSpec) isOpSpec()    {}

func (o *matmulOp) Describe() OpSpec { return MatMulSpec{TransA: o.transA, TransB: o.transB} }
func (o *reshapeOp) Describe() OpSpec {
	return ReshapeSpec{To: slices.Clone([]int(o.to))}
}
func (o *permuteOp) Describe() OpSpec { return PermuteSpec{Perm: slices.Clone(o.perm)} }
func (o *tiledOp) Describe() OpSpec   { return TiledSpec{Mul: o.mul} }
func (o *sumTilesOp) Describe() OpSpec {
	return SumTilesSpec{Shape: slices.Clone([]int(o.bShape))}
}
func (o *tileOp) Describe() OpSpec { return TileSpec{Shape: slices.Clone([]int(o.shape))} }
func (o *rowOp) Describe() OpSpec  { return RowSpec{Kind: o.kind} }
func (o *geluOp) Describe() OpSpec { return GELUSpec{Order: o.order} }
func (o *relBiasOp) Describe() OpSpec {
	return RelBiasSpec{Index: slices.Clone(o.index), Entries: o.entries, Heads: o.heads, Tokens: o.tokens, Scatter: o.scatter}
}
func (o *sliceOp) Describe() OpSpec {
	return SliceSpec{Outer: o.outer, N: o.n, Inner: o.inner, Lo: o.lo, Hi: o.hi, Pad: o.pad, Out: slices.Clone([]int(o.outShape))}
}

// apply adds op applied to ins to their graph. Every op of this package is
// applied through it, so an op without a description does not compile.
func apply(op Described, ins ...*G.Node) *G.Node { return G.Must(G.ApplyOp(op, ins...)) }
