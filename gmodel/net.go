package gmodel

import (
	"fmt"
	"math"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Net is one network (G or D) built for a fixed batch size. Its parameter
// nodes share their backing arrays with the model.Weights it was built
// from: changing the weights changes the net, without copies.
type Net struct {
	Config *model.Config
	Batch  int
	Graph  *G.ExprGraph
	// Params maps official names to the parameter nodes the graph uses.
	Params map[string]*G.Node
	Input  *G.Node // z [B, latent] for G, images [B, 3, S, S] for D
	Output *G.Node // images [B, 3, S, S] for G, logits [B, 1] for D

	mask   *G.Node     // v1 G: additive locality mask [N, N] of the last block
	noises []noiseSite // attention noise inputs, in forward order (noise.go)
	consts []*G.Node   // inputs with fixed values (pooling weights)
	vm     G.VM
}

// builder collects what a network needs while its graph is built.
type builder struct {
	net *Net
	w   model.Weights
	err error
	// tokenNoise: attention noise inputs are [B, N] in image-token order
	// (generators); otherwise [B*N, C] per attention (the final D).
	tokenNoise bool
	memory     *G.Node // Celeba256_gen: the z embedding [B*M, C] cross-attended to
	// prefix starts the name of every node the builder creates: two nets
	// built into one graph (the G step's G and D) keep apart their
	// parameters of equal official names.
	prefix string
}

func newBuilder(cfg *model.Config, w model.Weights, batch int) *builder {
	g := G.NewGraph()
	return &builder{net: &Net{Config: cfg, Batch: batch, Graph: g, Params: map[string]*G.Node{}}, w: w}
}

// param returns the node of weight name, viewed with shape (nil: its own).
// Nodes are named with the official names (Gorgonia hash-conses unnamed
// inputs of equal shape into one node).
func (b *builder) param(name string, shape ...int) *G.Node {
	if n, ok := b.net.Params[name]; ok {
		return n
	}
	t, ok := b.w[name]
	if !ok || t.F32 == nil {
		b.fail(fmt.Errorf("weights lack float tensor %q", name))
		t = &model.Tensor{Shape: shape, F32: make([]float32, tensor.Shape(shape).TotalSize())}
	}
	if shape == nil {
		shape = t.Shape
	}
	if len(shape) == 0 {
		shape = []int{1} // scalars (noise strengths) as 1-element tensors
	}
	v := newDense(t.F32, shape...)
	n := G.NewTensor(b.net.Graph, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(b.prefix+name), G.WithValue(v))
	b.net.Params[name] = n
	return n
}

// input creates a named, zero-filled input node.
func (b *builder) input(name string, shape ...int) *G.Node {
	v := newDense(make([]float32, tensor.Shape(shape).TotalSize()), shape...)
	return G.NewTensor(b.net.Graph, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(b.prefix+name), G.WithValue(v))
}

func (b *builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// linear applies y = x W^T + b to x [M, in] with W stored [out, in].
func (b *builder) linear(x *G.Node, wName, bName string, wShape ...int) *G.Node {
	y := matmul(x, b.param(wName, wShape...), false, true)
	if bName == "" {
		return y
	}
	return addTiled(y, b.param(bName))
}

// layerNorm over the last axis, eps 1e-5, affine.
func (b *builder) layerNorm(x *G.Node, wName, bName string) *G.Node {
	return addTiled(mulTiled(normalize(x), b.param(wName)), b.param(bName))
}

// blockOpts are the per-call inputs of a block: token count and batch.
type blockOpts struct {
	batch, tokens int
	mask          *G.Node // additive [N, N] or nil
	// side and part: the attention runs on part x part windows of a
	// side x side map (part == side: global; side 0: not a square map).
	side, part int
}

// block is the pre-norm transformer block on x [B*N, C], with
// Celeba256_gen's cross-attention (own residual, no norm) first.
func (b *builder) block(x *G.Node, blk model.Block, o blockOpts) *G.Node {
	if blk.Cross > 0 {
		x = G.Must(G.Add(x, b.crossAttention(x, blk, o)))
	}
	h := b.norm(x, blk, 1)
	x = G.Must(G.Add(x, b.attention(h, blk, o)))
	h = b.norm(x, blk, 2)
	h = gelu(b.linear(h, blk.FC1W(), blk.FC1B()))
	return G.Must(G.Add(x, b.linear(h, blk.FC2W(), blk.FC2B())))
}

// attention is multi-head self-attention on h [B*N, C].
func (b *builder) attention(h *G.Node, blk model.Block, o blockOpts) *G.Node {
	B, N, C, H := o.batch, o.tokens, blk.Dim, blk.Heads
	d := C / H
	if blk.Noise {
		h = G.Must(G.Add(h, b.attentionNoise(blk, o)))
	}
	qkv := matmul(h, b.param(blk.QKV()), false, true)         // [B*N, 3C]
	qkv = permute(reshape(qkv, B, N, 3, H, d), 2, 0, 3, 1, 4) // [3, B, H, N, d]
	q := sliceMid(qkv, 1, 3, B*H*N*d, 0, 1, B*H, N, d)
	k := sliceMid(qkv, 1, 3, B*H*N*d, 1, 2, B*H, N, d)
	v := sliceMid(qkv, 1, 3, B*H*N*d, 2, 3, B*H, N, d)
	// The d^-0.5 scale goes on q ([B*H, N, d]) rather than on the N x N
	// logits: the same product up to float32 rounding, N/d times fewer
	// multiplications.
	q = mulTiled(q, b.constant(float32(math.Pow(float64(d), -0.5))))
	logits := matmul(q, k, false, true) // [B*H, N, N]
	if blk.Window > 0 {
		logits = addTiled(logits, relBias(b.param(blk.RelTable()), model.RelPosIndex(blk.Window), N))
	}
	if o.mask != nil {
		logits = addTiled(logits, o.mask)
	}
	out := matmul(softmax(logits), v, false, false)                      // [B*H, N, d]
	out = reshape(permute(reshape(out, B, H, N, d), 0, 2, 1, 3), B*N, C) // heads concatenated
	return b.linear(out, blk.ProjW(), blk.ProjB())
}

// constant is a one-element input node holding v.
func (b *builder) constant(v float32) *G.Node {
	n := b.input(fmt.Sprintf("const_%d", len(b.net.consts)), 1)
	f32(n.Value())[0] = v
	b.net.consts = append(b.net.consts, n)
	return n
}

// patchify turns images [B, 3, S, S] into patch rows [B*(S/p)^2, 3*p*p]
// ordered (channel, row, col) like a Conv2d weight, tokens row-major.
func patchify(img *G.Node, batch, size, p int) *G.Node {
	n := size / p
	x := permute(reshape(img, batch, 3, n, p, n, p), 0, 2, 4, 1, 3, 5)
	return reshape(x, batch*n*n, 3*p*p)
}

// prependCls puts the cls token [1,1,C] in front of x [B*N, C].
func (b *builder) prependCls(x *G.Node, batch, tokens, c int) *G.Node {
	cls := tileOf(b.param(model.DCls), tensor.Shape{batch, 1, c})
	out := []int{batch * (tokens + 1), c}
	return G.Must(G.Add(padMid(cls, batch, tokens+1, c, 0, 1, out...), padMid(x, batch, tokens+1, c, 1, tokens+1, out...)))
}
