package gmodel

import (
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// pixelNorm is PixelNorm over the last axis (SPEC-hires 0.1):
// x * (mean_c x^2 + 1e-8)^(-1/2), per token, no parameters. It is composed
// of ops that are differentiable to any order (a channel mean and a
// broadcast as constant axis maps, a power, two elementwise products), so
// WGAN-GP's second derivative passes through it.
func pixelNorm(x *G.Node) *G.Node {
	s := x.Shape().Clone()
	c := s[len(s)-1]
	rows := s.TotalSize() / c
	sq := G.Must(G.HadamardProd(x, x))
	ms := axisMap(sq, "mean", filled(c, 1/float32(c)), 1, rows, c, 1, rows, 1) // [rows, 1]
	r := pow(ms, 1, model.PixelNormEps, -0.5)
	return G.Must(G.HadamardProd(x, broadcastCols(r, rows, c, s...)))
}

// broadcastCols repeats the column x [rows, 1] over c channels, returned
// with shape out.
func broadcastCols(x *G.Node, rows, c int, out ...int) *G.Node {
	return axisMap(x, "ones", filled(c, 1), c, rows, 1, 1, out...)
}

// norm applies block norm i (1 or 2): PixelNorm or the affine LayerNorm.
func (b *builder) norm(x *G.Node, blk model.Block, i int) *G.Node {
	if blk.PixelNorm {
		return pixelNorm(x)
	}
	if i == 1 {
		return b.layerNorm(x, blk.LN1W(), blk.LN1B())
	}
	return b.layerNorm(x, blk.LN2W(), blk.LN2B())
}
