package exporter

import (
	"fmt"
	"math"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// builder adds TransGAN layers to an ONNX graph. Official tensors become
// initializers under their own names the first time a layer uses them.
//
// Token layout: between blocks the residual stream is kept as a 2-D matrix
// [B*N, C] (rows are tokens, row-major within each image), so every Linear is
// a single Gemm with transB=1 on the official [out, in] weight and its bias:
// no transposed copies of weights are needed. Reshapes to [B, N, C] happen
// only where the batch axis matters (positional embeddings, attention,
// upsampling, the cls token).
type builder struct {
	g     *onnx.Graph
	w     model.Weights
	added map[string]bool
	err   error // first missing tensor

	noise    string // the "noise" graph input [B, T], or "" (window.go)
	noiseOff int    // draws of each noise row used so far
	consts   int    // constants named by constName

	// Celeba256_gen cross-attention: the z embedding [B*E, Cross], E, and
	// the token count per image of the stage being built.
	embed                    string
	embedTokens, crossTokens int
}

func newBuilder(name string, w model.Weights) *builder {
	return &builder{g: onnx.NewGraph(name), w: w, added: map[string]bool{}}
}

// param returns the initializer of an official tensor, adding it on first use.
func (b *builder) param(name string) string {
	if b.added[name] {
		return name
	}
	b.added[name] = true
	t := b.w[name]
	if t == nil {
		if b.err == nil {
			b.err = errorf("missing tensor %q", name)
		}
		return name
	}
	if t.I64 != nil {
		return b.g.InitializerInt64(name, t.Shape, t.I64)
	}
	return b.g.Initializer(name, t.Shape, t.F32)
}

func (b *builder) op(op string, attrs []onnx.Attr, in ...string) string {
	return b.g.Op(op, in, attrs...)
}

// reshape reshapes x to dims (-1 infers one dimension, the batch).
func (b *builder) reshape(x string, dims ...int64) string {
	return b.op("Reshape", nil, x, b.g.Int64s(dims...))
}

func (b *builder) transpose(x string, perm ...int64) string {
	return b.op("Transpose", []onnx.Attr{onnx.AttrInts("perm", perm...)}, x)
}

// linear is y = x W^T + b for x [M, in], W [out, in] (PyTorch layout), as one
// Gemm. bias may be "" (no bias).
func (b *builder) linear(x, weight, bias string) string {
	in := []string{x, b.param(weight)}
	if bias != "" {
		in = append(in, b.param(bias))
	}
	return b.op("Gemm", []onnx.Attr{onnx.AttrInt("transB", 1)}, in...)
}

// layerNorm normalises the last axis with eps 1e-5 and the affine weight/bias.
func (b *builder) layerNorm(x, weight, bias string) string {
	return b.op("LayerNormalization", []onnx.Attr{
		onnx.AttrInt("axis", -1), onnx.AttrFloat("epsilon", model.LayerNormEps),
	}, x, b.param(weight), b.param(bias))
}

// gelu is the exact GELU x*0.5*(1+erf(x/sqrt2)), written as
// Mul(Mul(x, 1+Erf(Div(x, sqrt2))), 0.5), the pattern ONNX Runtime fuses
// into one Gelu kernel. Multiplying by 0.5 is exact, so the order of the
// two products does not change a bit of the result.
func (b *builder) gelu(x string) string {
	t := b.op("Div", nil, x, b.g.Float(float32(math.Sqrt2)))
	t = b.op("Erf", nil, t)
	t = b.op("Add", nil, t, b.g.Float(1))
	t = b.op("Mul", nil, x, t)
	return b.op("Mul", nil, t, b.g.Float(0.5))
}

// block is the pre-norm transformer block on x [B*n, C]:
// [x += CrossAttn(x, embedding);] x += Attn(Norm1(x) [+ s*noise]);
// x += MLP(Norm2(x)). noise, when set, is the block's attention-noise
// column [B*n, 1] in the token order of x (see noiseColumn); it is scaled
// by the block's noise_strength_1 and broadcast over the channels.
func (b *builder) block(x string, blk model.Block, n int, noise string) string {
	prev := b.g.Scope(trimDot(blk.Prefix))
	defer b.g.Scope(prev)
	if blk.Cross > 0 {
		x = b.op("Add", nil, x, b.crossAttention(x, blk))
	}
	h := b.norm(x, blk, 1)
	if noise != "" {
		h = b.op("Add", nil, h, b.op("Mul", nil, noise, b.param(blk.NoiseW())))
	}
	x = b.op("Add", nil, x, b.attention(h, blk, n))
	h = b.norm(x, blk, 2)
	h = b.linear(h, blk.FC1W(), blk.FC1B())
	h = b.linear(b.gelu(h), blk.FC2W(), blk.FC2B())
	return b.op("Add", nil, x, h)
}

// norm is the block's pre-norm i (1 or 2): LayerNorm with its tensors, or
// PixelNorm for a block that has none.
func (b *builder) norm(x string, blk model.Block, i int) string {
	switch {
	case blk.PixelNorm:
		return b.pixelNorm(x)
	case i == 1:
		return b.layerNorm(x, blk.LN1W(), blk.LN1B())
	}
	return b.layerNorm(x, blk.LN2W(), blk.LN2B())
}

// pixelNorm is x / sqrt(mean(x^2 over the last axis) + 1e-8): the official
// x * rsqrt(...), as a division (one rounding instead of two).
func (b *builder) pixelNorm(x string) string {
	sq := b.op("Mul", nil, x, x)
	ms := b.op("ReduceMean", []onnx.Attr{onnx.AttrInts("axes", -1), onnx.AttrInt("keepdims", 1)}, sq)
	ms = b.op("Add", nil, ms, b.g.Float(model.PixelNormEps))
	return b.op("Div", nil, x, b.op("Sqrt", nil, ms))
}

// attention is multi-head self-attention on x [B*n, C], batched as 4-D
// MatMuls over [B, heads, n, d]. qkv splits q|k|v and head h owns channels
// [h*d, (h+1)*d); logits = (q @ k^T) * d^-0.5 (+ relative-position bias),
// softmax over the keys. The D attention noise is not part of the graph.
func (b *builder) attention(x string, blk model.Block, n int) string {
	c, heads := int64(blk.Dim), int64(blk.Heads)
	d := c / heads
	N := int64(n)
	qkv := b.linear(x, blk.QKV(), "")                                            // [B*n, 3C]
	qkv = b.reshape(qkv, -1, N, 3, heads, d)                                     // [B, n, 3, h, d]
	qkv = b.transpose(qkv, 2, 0, 3, 1, 4)                                        // [3, B, h, n, d]
	q := b.op("Gather", []onnx.Attr{onnx.AttrInt("axis", 0)}, qkv, b.g.Int64(0)) // [B, h, n, d]
	k := b.op("Gather", []onnx.Attr{onnx.AttrInt("axis", 0)}, qkv, b.g.Int64(1))
	v := b.op("Gather", []onnx.Attr{onnx.AttrInt("axis", 0)}, qkv, b.g.Int64(2))
	k = b.transpose(k, 0, 1, 3, 2) // [B, h, d, n]
	logits := b.op("MatMul", nil, q, k)
	logits = b.op("Mul", nil, logits, b.g.Float(float32(math.Pow(float64(d), -0.5))))
	if blk.Window > 0 {
		logits = b.op("Add", nil, logits, b.relPosBias(blk))
	}
	a := b.op("Softmax", []onnx.Attr{onnx.AttrInt("axis", -1)}, logits)
	o := b.op("MatMul", nil, a, v) // [B, h, n, d]
	o = b.transpose(o, 0, 2, 1, 3) // [B, n, h, d]
	o = b.reshape(o, -1, c)        // [B*n, C]
	return b.linear(o, blk.ProjW(), blk.ProjB())
}

// relPosBias is bias[h, i, j] = table[index[i, j], h] as [heads, n, n],
// gathered in-graph from the official table and index buffer (both
// constants, so ONNX Runtime folds it once when the session is created).
func (b *builder) relPosBias(blk model.Block) string {
	g := b.op("Gather", []onnx.Attr{onnx.AttrInt("axis", 0)}, b.param(blk.RelTable()), b.param(blk.RelIndex()))
	return b.transpose(g, 2, 0, 1) // [n, n, h] -> [h, n, n]
}

// blocks runs a stack of blocks without attention noise on tokens x
// [B, n, C] and returns [B, n, C].
func (b *builder) blocks(x string, blks []model.Block, n, c int) string {
	if len(blks) == 0 {
		return x
	}
	x = b.reshape(x, -1, int64(c))
	for _, blk := range blks {
		x = b.block(x, blk, n, "")
	}
	return b.reshape(x, -1, int64(n), int64(c))
}

// tokensToMap views tokens [B, H*W, C] as a feature map [B, C, H, W].
func (b *builder) tokensToMap(x string, c, h, w int) string {
	x = b.transpose(x, 0, 2, 1)
	return b.reshape(x, -1, int64(c), int64(h), int64(w))
}

// mapToTokens views a feature map [B, C, H, W] as tokens [B, H*W, C].
func (b *builder) mapToTokens(x string, c, n int) string {
	x = b.reshape(x, -1, int64(c), int64(n))
	return b.transpose(x, 0, 2, 1)
}

// conv is a Conv2d with square kernel k and stride s, no padding.
func (b *builder) conv(x, weight, bias string, k, s int) string {
	return b.op("Conv", []onnx.Attr{
		onnx.AttrInts("kernel_shape", int64(k), int64(k)), onnx.AttrInts("strides", int64(s), int64(s)),
	}, x, b.param(weight), b.param(bias))
}

// addPos adds a positional embedding [1, n, C] to tokens [B, n, C].
func (b *builder) addPos(x, name string) string {
	return b.op("Add", nil, x, b.param(name))
}

// clsHead is the discriminator head on tokens x [B, n, C]: the final norm
// (LayerNorm, or PixelNorm when pn) and Linear(C->1) on token 0. The norm
// acts on each token alone, so taking token 0 first gives the same numbers
// for a fraction of the work.
func (b *builder) clsHead(x, normW, normB string, pn bool) string {
	prev := b.g.Scope("head")
	defer b.g.Scope(prev)
	t := b.op("Gather", []onnx.Attr{onnx.AttrInt("axis", 1)}, x, b.g.Int64(0)) // [B, C]
	if pn {
		t = b.pixelNorm(t)
	} else {
		t = b.layerNorm(t, normW, normB)
	}
	return b.linear(t, model.DHeadW, model.DHeadB) // [B, 1]
}

// prependCls puts the learned cls token [1, 1, C] in front of tokens
// [B, n, C], expanded to the batch size of img.
func (b *builder) prependCls(x, img string, c int) string {
	batch := b.op("Shape", []onnx.Attr{onnx.AttrInt("start", 0), onnx.AttrInt("end", 1)}, img)
	shape := b.op("Concat", []onnx.Attr{onnx.AttrInt("axis", 0)}, batch, b.g.Int64s(1, int64(c)))
	cls := b.op("Expand", nil, b.param(model.DCls), shape)
	return b.op("Concat", []onnx.Attr{onnx.AttrInt("axis", 1)}, cls, x)
}

func trimDot(s string) string {
	if n := len(s); n > 0 && s[n-1] == '.' {
		return s[:n-1]
	}
	return s
}

// errorf prefixes exporter errors.
func errorf(format string, args ...any) error {
	return fmt.Errorf("exporter: "+format, args...)
}
