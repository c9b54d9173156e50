package exporter

import (
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// Discriminator builds the ONNX graph of a TransGAN discriminator in
// evaluation mode: input "image" [batch, 3, H, W] -> output "logit"
// [batch, 1]. There is no DiffAugment (a training-time device).
//
// The final two-scale discriminator's attention noise is omitted: the
// official forward adds randn[B,N,1]*noise_strength_1 to every attention
// input in evaluation too, with a learned strength, so its outputs are
// random; tgan's export is the deterministic noise-free network (identical
// to the official one wherever a strength is 0), and the
// noise_strength_1 tensors are not in the file.
//
// w must hold exactly cfg.DParams(); meta adds to (or overrides) the
// metadata that Metadata computes for the discriminator.
func Discriminator(cfg *model.Config, w model.Weights, meta map[string]string) (*onnx.Model, error) {
	return discriminator(cfg, w, meta, false)
}

// DiscriminatorNoise is Discriminator with the attention noise of the final
// two-scale D as a second input "noise" [batch, T] (the draws of blocks_1,
// blocks_2 and last_block in forward order, each [N] in token order, the
// last with the cls token first), scaled by the learned noise_strength_1:
// the official network exactly, for parity tests and for callers that want
// the noisy D. Metadata KeyDNoise says "input". It fails for a D without
// noise.
func DiscriminatorNoise(cfg *model.Config, w model.Weights, meta map[string]string) (*onnx.Model, error) {
	if cfg.DKind != model.DScale2 || cfg.DNoNoise {
		return nil, errorf("the %s discriminator has no attention noise", cfg.DKind)
	}
	return discriminator(cfg, w, merge(map[string]string{KeyDNoise: "input"}, meta), true)
}

// DiscriminatorNoiseSize is T of DiscriminatorNoise's input.
func DiscriminatorNoiseSize(cfg *model.Config) int {
	if cfg.DKind != model.DScale2 || cfg.DNoNoise {
		return 0
	}
	n1, n2 := cfg.DTokens(), cfg.DScale2Side()*cfg.DScale2Side()
	return cfg.DDepth*(n1+n2) + n2 + 1
}

func discriminator(cfg *model.Config, w model.Weights, meta map[string]string, noise bool) (*onnx.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, errorf("%w", err)
	}
	if err := w.Check(cfg.DParams()); err != nil {
		return nil, errorf("discriminator weights: %w", err)
	}
	b := newBuilder("tgan_discriminator", w)
	side := int64(cfg.ImageSize)
	img := b.g.Input("image", onnx.Batch, 3, side, side)
	if noise {
		b.noise = b.g.Input(NoiseInput, onnx.Batch, int64(DiscriminatorNoiseSize(cfg)))
	}
	var logit string
	switch cfg.DKind {
	case model.DViT:
		logit = b.discriminatorV1(cfg, img)
	case model.DCeleba256, model.DScale3:
		logit = b.discriminator3(cfg, img)
	default:
		logit = b.discriminatorScale2(cfg, img)
	}
	b.g.Output(logit, "logit", onnx.Batch, 1)
	if b.err != nil {
		return nil, b.err
	}
	doc := "TransGAN discriminator exported by tgan (evaluation mode, no attention noise): image -> logit."
	if noise {
		doc = "TransGAN discriminator exported by tgan (evaluation mode): image, attention noise -> logit."
	}
	return &onnx.Model{Graph: b.g, DocString: doc, Metadata: merge(Metadata(cfg, DiscriminatorNetwork), meta)}, b.g.Err()
}

// discriminatorV1 is ViT_8_8: patch conv, tokens, cls first, + pos_embed,
// blocks, norm and head on token 0.
func (b *builder) discriminatorV1(cfg *model.Config, img string) string {
	c, n := cfg.DDim, cfg.DTokens()
	b.g.Scope("patch_embed")
	x := b.conv(img, model.DPatchW, model.DPatchB, cfg.DPatch, cfg.DPatch)
	x = b.mapToTokens(x, c, n)
	x = b.prependCls(x, img, c)
	x = b.addPos(x, model.DPos)
	x = b.blocks(x, cfg.DBlocks()[0], n+1, c)
	return b.clsHead(x, cfg.DNormW(), cfg.DNormB(), cfg.DNorm == model.PixelNorm)
}

// discriminatorScale2 is ViT_custom_scale2_rp_noise: fRGB_1 tokens +
// pos_embed_1, blocks_1, back to the map, AvgPool 2x2, concatenated on
// channels with the fRGB_2 tokens (pooled first), + pos_embed_2, blocks_2,
// cls first (no positional embedding), last_block.0, norm, head on token 0.
func (b *builder) discriminatorScale2(cfg *model.Config, img string) string {
	groups := cfg.DBlocks()
	c1, c := cfg.DScale1Dim(), cfg.DDim
	w1, w2 := cfg.ImageSize/cfg.DPatch, cfg.DScale2Side()
	n1, n2 := w1*w1, w2*w2

	b.g.Scope("fRGB_1")
	x1 := b.conv(img, model.DRGB1W, model.DRGB1B, cfg.DPatch, cfg.DPatch)
	x1 = b.addPos(b.mapToTokens(x1, c1, n1), model.DPos1)
	x1 = b.windowedBlocks(x1, groups[0], b.stageNoise(len(groups[0]), n1, w1, 0), w1, 0, c1)
	b.g.Scope("pool")
	m := b.tokensToMap(x1, c1, w1, w1)
	m = b.op("AveragePool", []onnx.Attr{onnx.AttrInts("kernel_shape", 2, 2), onnx.AttrInts("strides", 2, 2)}, m)
	x1 = b.mapToTokens(m, c1, n2)

	b.g.Scope("fRGB_2")
	x2 := b.conv(img, model.DRGB2W, model.DRGB2B, 2*cfg.DPatch, 2*cfg.DPatch)
	x2 = b.mapToTokens(x2, c/4, n2)
	x := b.op("Concat", []onnx.Attr{onnx.AttrInt("axis", 2)}, x1, x2)
	x = b.addPos(x, model.DPos2)
	x = b.windowedBlocks(x, groups[1], b.stageNoise(len(groups[1]), n2, w2, 0), w2, 0, c)
	b.g.Scope("cls")
	x = b.prependCls(x, img, c)
	x = b.clsBlocks(x, groups[2], b.stageNoise(len(groups[2]), n2+1, 0, 0), n2+1, c)
	return b.clsHead(x, cfg.DNormW(), cfg.DNormB(), cfg.DNorm == model.PixelNorm)
}
