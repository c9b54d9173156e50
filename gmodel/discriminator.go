package gmodel

import (
	"fmt"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// BuildDiscriminator builds D for batch size batch: images [B, 3, S, S] in
// [-1, 1] -> logits [B, 1]. DiffAugment is not part of the graph (the
// trainer augments the input); final-D attention noise comes from inputs
// that SetNoise fills.
func BuildDiscriminator(cfg *model.Config, w model.Weights, batch int) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(cfg, w, batch)
	b.net.Input = b.input("image", batch, 3, cfg.ImageSize, cfg.ImageSize)
	return b.discriminator(b.net.Input)
}

// BuildDiscriminatorOn builds D into graph g on the existing node img
// [batch, 3, S, S] (for example DiffAugment of G's output: the G step is
// then one graph), naming every node it creates prefix+name. The net's
// Input is img.
func BuildDiscriminatorOn(g *G.ExprGraph, img *G.Node, prefix string, cfg *model.Config, w model.Weights) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := img.Shape()
	if len(s) != 4 || s[1] != 3 || s[2] != cfg.ImageSize || s[3] != cfg.ImageSize {
		return nil, fmt.Errorf("build discriminator: input shape %v, want [B 3 %d %d]", s, cfg.ImageSize, cfg.ImageSize)
	}
	b := newBuilder(cfg, w, s[0])
	b.net.Graph, b.prefix, b.net.Input = g, prefix, img
	return b.discriminator(img)
}

// discriminator builds D's body, norm and head on b's input node.
func (b *builder) discriminator(img *G.Node) (*Net, error) {
	cfg, n, batch := b.net.Config, b.net, b.net.Batch
	var x *G.Node
	var tokens int
	switch cfg.DKind {
	case model.DViT:
		x, tokens = b.vitTrunk(img)
	case model.DCeleba256, model.DScale3:
		x, tokens = b.scale3Trunk(img)
	default:
		x, tokens = b.scale2Trunk(img)
	}
	if cfg.DNorm == model.PixelNorm {
		x = pixelNorm(x)
	} else {
		x = b.layerNorm(x, cfg.DNormW(), cfg.DNormB())
	}
	cls := sliceMid(x, batch, tokens, cfg.DDim, 0, 1, batch, cfg.DDim) // token 0
	n.Output = b.linear(cls, model.DHeadW, model.DHeadB)               // [B, 1]
	if b.err != nil {
		return nil, fmt.Errorf("build discriminator: %w", b.err)
	}
	return n, nil
}

// vitTrunk is the v1 D body: patch embedding, cls, position, blocks.
func (b *builder) vitTrunk(img *G.Node) (*G.Node, int) {
	cfg, batch := b.net.Config, b.net.Batch
	p, c, t := cfg.DPatch, cfg.DDim, cfg.DTokens()
	x := b.linear(patchify(img, batch, cfg.ImageSize, p), model.DPatchW, model.DPatchB, c, 3*p*p)
	x = b.prependCls(x, batch, t, c)
	x = addTiled(x, b.param(model.DPos))
	for _, blk := range cfg.DBlocks()[0] {
		x = b.block(x, blk, blockOpts{batch: batch, tokens: t + 1})
	}
	return x, t + 1
}

// scale2Trunk is the final D body: two patch scales merged after the first
// scale's blocks, then a cls token and one last block.
func (b *builder) scale2Trunk(img *G.Node) (*G.Node, int) {
	cfg, batch := b.net.Config, b.net.Batch
	p, c, c1 := cfg.DPatch, cfg.DDim, cfg.DScale1Dim()
	t1, side2 := cfg.DTokens(), cfg.DScale2Side()
	t2 := side2 * side2
	groups := cfg.DBlocks()

	x1 := b.linear(patchify(img, batch, cfg.ImageSize, p), model.DRGB1W, model.DRGB1B, c1, 3*p*p)
	x2 := b.linear(patchify(img, batch, cfg.ImageSize, 2*p), model.DRGB2W, model.DRGB2B, c/4, 3*4*p*p)
	x1 = addTiled(x1, b.param(model.DPos1))
	for _, blk := range groups[0] {
		x1 = b.block(x1, blk, blockOpts{batch: batch, tokens: t1})
	}
	pooled := b.avgPool2(x1, batch, 2*side2, c1) // [B*t2, c1]
	x := G.Must(G.Add(padMid(pooled, batch*t2, c, 1, 0, c1, batch*t2, c), padMid(x2, batch*t2, c, 1, c1, c, batch*t2, c)))
	x = addTiled(x, b.param(model.DPos2))
	for _, blk := range groups[1] {
		x = b.block(x, blk, blockOpts{batch: batch, tokens: t2})
	}
	x = b.prependCls(x, batch, t2, c)
	x = b.block(x, groups[2][0], blockOpts{batch: batch, tokens: t2 + 1})
	return x, t2 + 1
}

// avgPool2 is AvgPool2d(2) on tokens [B*side*side, C] of a side x side map.
func (b *builder) avgPool2(x *G.Node, batch, side, c int) *G.Node {
	h := side / 2
	x = permute(reshape(x, batch, h, 2, h, 2, c), 0, 1, 3, 5, 2, 4) // [B, h, w, C, 2, 2]
	quarter := b.input(fmt.Sprintf("avgpool_%d", len(b.net.consts)), 4, 1)
	for i := range f32(quarter.Value()) {
		f32(quarter.Value())[i] = 0.25
	}
	b.net.consts = append(b.net.consts, quarter)
	return reshape(matmul(reshape(x, batch*h*h*c, 4), quarter, false, false), batch*h*h, c)
}
