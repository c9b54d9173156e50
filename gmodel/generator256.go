package gmodel

import (
	"math"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// The pieces of the 256 generators (Celeba256_gen and
// ViT_custom_local544444_256_rp_noise, SPEC-hires 2.1 and 3.1): bicubic
// upsampling that keeps the channels, windowed stages, Celeba256_gen's
// cross-attention to an embedding of z and its updown filter.

// zEmbedding is Celeba256_gen's cross-attention memory:
// embedding_transform(z) viewed [B*N0, C] plus embed_pos.
func (b *builder) zEmbedding(z *G.Node) *G.Node {
	cfg := b.net.Config
	e := b.linear(z, model.GEmbedW, model.GEmbedB)
	e = reshape(e, b.net.Batch*cfg.StageTokens(0), cfg.GDim)
	return addTiled(e, b.param(model.GEmbedPos))
}

// crossAttention is Celeba256_gen's "self-modulation" of x [B*N, C] by the
// z embedding (SPEC-hires 2.1 step 1): queries from x, keys and values
// from the memory, no norm, no bias on q/k/v, no noise. The caller adds
// the residual. Tokens may be in window order: each query is independent.
func (b *builder) crossAttention(x *G.Node, blk model.Block, o blockOpts) *G.Node {
	cfg := b.net.Config
	C, H := blk.Dim, blk.Heads
	d := C / H
	B := b.net.Batch
	N := o.batch * o.tokens / B
	M := cfg.StageTokens(0)
	heads := func(t *G.Node, n int) *G.Node { // [B*n, C] -> [B*H, n, d]
		return reshape(permute(reshape(t, B, n, H, d), 0, 2, 1, 3), B*H, n, d)
	}
	q := heads(matmul(x, b.param(blk.CrossQ()), false, true), N)
	k := heads(matmul(b.memory, b.param(blk.CrossK()), false, true), M)
	v := heads(matmul(b.memory, b.param(blk.CrossV()), false, true), M)
	q = mulTiled(q, b.constant(float32(math.Pow(float64(d), -0.5))))
	a := softmax(matmul(q, k, false, true))                                                      // [B*H, N, M]
	out := reshape(permute(reshape(matmul(a, v, false, false), B, H, N, d), 0, 2, 1, 3), B*N, C) // heads concatenated
	return b.linear(out, blk.CrossProjW(), blk.CrossProjB())
}

// stage runs stage s's blocks on x [B*side*side, C] in image order,
// partitioning into cfg.GPartition(s) windows around them when that is
// smaller than the map. masked puts the v1 locality mask on the stage's
// masked block.
func (b *builder) stage(x *G.Node, s int, masked bool) *G.Node {
	cfg, n, batch := b.net.Config, b.net, b.net.Batch
	side, dim := cfg.StageWidth(s), cfg.StageDim(s)
	part := cfg.GPartition(s)
	if !windowed(side, part) {
		part = side
	}
	nW := (side / part) * (side / part)
	if nW > 1 {
		x = partition(x, batch, side, part, dim)
	}
	for i, blk := range cfg.GBlocks()[s] {
		o := blockOpts{batch: batch * nW, tokens: part * part, side: side, part: part}
		if masked && cfg.MaskedBlock(s, i) {
			n.mask = b.input("locality_mask", side*side, side*side)
			o.mask = n.mask
		}
		x = b.block(x, blk, o)
	}
	if nW > 1 {
		x = unpartition(x, batch, side, part, dim)
	}
	return x
}

// bicubicUp is F.interpolate(scale_factor=2, mode='bicubic') on the map of
// tokens x [B*side*side, C]: the x2 matrix along H, then along W.
func bicubicUp(x *G.Node, batch, side, c int) *G.Node {
	m := bicubic2Matrix(side)
	x = axisMap(x, "bicubic2", m, 2*side, batch, side, side*c, batch*2*side*side, c)
	return axisMap(x, "bicubic2", m, 2*side, batch*2*side, side, c, batch*4*side*side, c)
}

// updown is Celeba256_gen's bicubic x4 then AvgPool2d(4) on the map of
// tokens x [B*side*side, C], folded into one [side, side] filter per axis.
func updown(x *G.Node, batch, side, c int) *G.Node {
	m := updownMatrix(side)
	x = axisMap(x, "updown", m, side, batch, side, side*c, batch*side*side, c)
	return axisMap(x, "updown", m, side, batch*side, side, c, batch*side*side, c)
}
