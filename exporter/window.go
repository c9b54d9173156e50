package exporter

import (
	"fmt"
	"math"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// Window attention, attention noise, cross-attention and the resampling
// filters of the zoo's newer families (SPEC-hires 0.3-0.5).
//
// A windowed stage runs all its blocks in window order: the tokens
// [B, H*W, C] are partitioned once into [B*nW, w*w, C] before the first
// block and reversed after the last. Everything in a block but the
// self-attention acts on each token alone (norms, MLP, noise, the
// cross-attention's queries), and the tokens of one image stay contiguous
// (window number b*nW + ...), so this is the official per-block
// partition/reverse with the permutations cancelled between blocks. The
// attention itself is then tgan's ordinary attention over n = w*w tokens
// with the windows folded into the batch, which is also what the fused
// form's MultiHeadAttention sees.

// partition maps tokens [B, side*side, C] (row-major pixels) to windows
// [B*nW, w*w, C]: reshape [B, H/w, w, W/w, w, C], swap the two middle axes,
// reshape.
func (b *builder) partition(x string, side, w, c int) string {
	k, w64 := int64(side/w), int64(w)
	x = b.reshape(x, -1, k, w64, k, w64, int64(c))
	x = b.transpose(x, 0, 1, 3, 2, 4, 5)
	return b.reshape(x, -1, w64*w64, int64(c))
}

// reverse is the inverse of partition (the permutation is its own inverse).
func (b *builder) reverse(x string, side, w, c int) string {
	k, w64 := int64(side/w), int64(w)
	x = b.reshape(x, -1, k, k, w64, w64, int64(c))
	x = b.transpose(x, 0, 1, 3, 2, 4, 5)
	return b.reshape(x, -1, int64(side*side), int64(c))
}

// noiseColumn takes the next n draws of every row of the graph's "noise"
// input [B, T] (one attention's draws in image-token order; for a cls
// attention n = tokens+1 with the cls token first) and returns them as a
// column [B*n, 1] in the token order of the blocks: row-major, or window
// order when w < side (n = side*side then). It advances the noise offset.
func (b *builder) noiseColumn(n, side, w int) string {
	start := int64(b.noiseOff)
	b.noiseOff += n
	prev := b.g.Scope(fmt.Sprintf("noise.%d", start))
	defer b.g.Scope(prev)
	x := b.op("Slice", nil, b.noise, b.g.Int64s(start), b.g.Int64s(start+int64(n)), b.g.Int64s(1))
	if w > 0 && w < side {
		k, w64 := int64(side/w), int64(w)
		x = b.reshape(x, -1, k, w64, k, w64)
		x = b.transpose(x, 0, 1, 3, 2, 4)
	}
	return b.reshape(x, -1, 1)
}

// stageNoise returns one noise column per block of a stage whose blocks
// run on n tokens per image (nil without a noise input).
func (b *builder) stageNoise(blocks, n, side, w int) []string {
	if b.noise == "" {
		return nil
	}
	cols := make([]string, blocks)
	for i := range cols {
		cols[i] = b.noiseColumn(n, side, w)
	}
	return cols
}

// windowedBlocks runs blks on tokens x [B, side*side, C], partitioned into
// w x w windows when 0 < w < side (global otherwise), with one noise column
// per block when noise is set.
func (b *builder) windowedBlocks(x string, blks []model.Block, noise []string, side, w, c int) string {
	if len(blks) == 0 {
		return x
	}
	if w <= 0 || w > side {
		w = side
	}
	if w < side {
		x = b.partition(x, side, w, c)
	}
	x = b.reshape(x, -1, int64(c))
	for i, blk := range blks {
		col := ""
		if i < len(noise) {
			col = noise[i]
		}
		x = b.block(x, blk, w*w, col)
	}
	x = b.reshape(x, -1, int64(w*w), int64(c))
	if w < side {
		x = b.reverse(x, side, w, c)
	}
	return x
}

// crossAttention is Celeba256_gen's cross-attention of the tokens x
// [B*N, C] (N = b.crossTokens per image, any order within an image) to the
// z embedding b.embed [B*E, Cross]: q = x Wq^T, k = e Wk^T, v = e Wv^T
// (no biases), heads as in self-attention, softmax over the E embedding
// tokens, output projection with bias. The caller adds the residual.
func (b *builder) crossAttention(x string, blk model.Block) string {
	prev := b.g.Scope(trimDot(blk.Prefix) + "/cross")
	defer b.g.Scope(prev)
	c, heads := int64(blk.Dim), int64(blk.Heads)
	d, n, e := c/heads, int64(b.crossTokens), int64(b.embedTokens)
	q := b.reshape(b.linear(x, blk.CrossQ(), ""), -1, n, heads, d)
	q = b.transpose(q, 0, 2, 1, 3) // [B, h, N, d]
	k := b.reshape(b.linear(b.embed, blk.CrossK(), ""), -1, e, heads, d)
	k = b.transpose(k, 0, 2, 3, 1) // [B, h, d, E]
	v := b.reshape(b.linear(b.embed, blk.CrossV(), ""), -1, e, heads, d)
	v = b.transpose(v, 0, 2, 1, 3) // [B, h, E, d]
	logits := b.op("MatMul", nil, q, k)
	logits = b.op("Mul", nil, logits, b.g.Float(float32(math.Pow(float64(d), -0.5))))
	a := b.op("Softmax", []onnx.Attr{onnx.AttrInt("axis", -1)}, logits)
	o := b.transpose(b.op("MatMul", nil, a, v), 0, 2, 1, 3) // [B, N, h, d]
	return b.linear(b.reshape(o, -1, c), blk.CrossProjW(), blk.CrossProjB())
}

// bicubicUpsample is F.interpolate(scale_factor=2, mode='bicubic') on the
// map of tokens [B, side*side, C]: ONNX Resize, cubic with a = -0.75,
// half-pixel coordinates (align_corners=False) and taps clamped to the
// edge (exclude_outside 0), which ONNX Runtime computes with the phase
// weights of SPEC-hires 0.5 (TestResampling checks it against them).
func (b *builder) bicubicUpsample(x string, c, side int) string {
	m := b.tokensToMap(x, c, side, side)
	scales := b.g.Initializer(b.constName("resize.scales"), []int{4}, []float32{1, 1, 2, 2})
	m = b.op("Resize", []onnx.Attr{
		onnx.AttrString("mode", "cubic"), onnx.AttrFloat("cubic_coeff_a", -0.75),
		onnx.AttrString("coordinate_transformation_mode", "half_pixel"),
	}, m, "", scales)
	return b.mapToTokens(m, c, 4*side*side)
}

// UpDownTaps is Celeba256_gen's updown (bicubic x4 then 4x4 average
// pooling) folded into one separable 5-tap filter with edge replication
// (SPEC-hires 0.5): out[i] = sum_k K[k] in[clamp(i+k-2)].
var UpDownTaps = [5]float32{-0.01904296875, 0.08984375, 0.8583984375, 0.08984375, -0.01904296875}

// updown filters the map of tokens [B, side*side, C] with UpDownTaps along
// H and W: Pad (edge, 2 each side) and two depthwise convolutions.
func (b *builder) updown(x string, c, side int) string {
	prev := b.g.Scope("updown")
	defer b.g.Scope(prev)
	m := b.tokensToMap(x, c, side, side)
	m = b.op("Pad", []onnx.Attr{onnx.AttrString("mode", "edge")}, m, b.g.Int64s(0, 0, 2, 2, 0, 0, 2, 2))
	taps := make([]float32, 0, 5*c)
	for i := 0; i < c; i++ {
		taps = append(taps, UpDownTaps[:]...)
	}
	kh := b.g.Initializer(b.constName("updown.h"), []int{c, 1, 5, 1}, taps)
	kw := b.g.Initializer(b.constName("updown.w"), []int{c, 1, 1, 5}, taps)
	depthwise := func(m, k string, kernel ...int64) string {
		return b.op("Conv", []onnx.Attr{onnx.AttrInt("group", int64(c)), onnx.AttrInts("kernel_shape", kernel...)}, m, k)
	}
	m = depthwise(m, kh, 5, 1)
	m = depthwise(m, kw, 1, 5)
	return b.mapToTokens(m, c, side*side)
}

// constName returns a fresh initializer name for a graph constant.
func (b *builder) constName(base string) string {
	b.consts++
	return fmt.Sprintf("const.%s.%d", base, b.consts)
}

// convPad is a Conv2d with square kernel k, stride s and zero padding p
// on every side.
func (b *builder) convPad(x, weight, bias string, k, s, p int) string {
	if p == 0 {
		return b.conv(x, weight, bias, k, s)
	}
	k64, s64, p64 := int64(k), int64(s), int64(p)
	return b.op("Conv", []onnx.Attr{
		onnx.AttrInts("kernel_shape", k64, k64), onnx.AttrInts("strides", s64, s64),
		onnx.AttrInts("pads", p64, p64, p64, p64),
	}, x, b.param(weight), b.param(bias))
}

// avgPool2 is AvgPool2d(2) on the map of tokens [B, side*side, C] and
// returns tokens [B, side*side/4, C].
func (b *builder) avgPool2(x string, c, side int) string {
	m := b.tokensToMap(x, c, side, side)
	m = b.op("AveragePool", []onnx.Attr{onnx.AttrInts("kernel_shape", 2, 2), onnx.AttrInts("strides", 2, 2)}, m)
	return b.mapToTokens(m, c, side*side/4)
}
