package exporter

import (
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// Generator builds the ONNX graph of a TransGAN generator: input "z"
// [batch, latent_dim] -> output "image" [batch, 3, H, W], the raw output
// (no tanh, no clamp: about [-1, 1], clamp when converting to pixels).
//
// Families with attention noise (ViT_custom, the 256 generators) take a
// second input "noise" [batch, GeneratorNoise(cfg)]: the standard-normal
// draws of every self-attention, in forward order, each [N] in
// image-token order (see generator256.go).
//
// The graph follows the official forward pass at inference: l1 viewed as
// [B, bw*bw, C] (token t takes elements [t*C, (t+1)*C)), + pos_embed_1,
// the stage-1 blocks; for every later stage pixel upsampling
// (tokens -> [B,C,H,W] -> DepthToSpace(2, CRD) = PixelShuffle(2) -> tokens),
// + pos_embed_s, the stage's blocks; then the 1x1 conv deconv.0. The v1
// locality mask is a training-time device and is off, as in the official
// evaluation. The v1 to_rgb.0 BatchNorm never runs and is not exported.
//
// w must hold exactly cfg.GParams(); meta adds to (or overrides) the
// metadata that Metadata computes for the generator.
func Generator(cfg *model.Config, w model.Weights, meta map[string]string) (*onnx.Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, errorf("%w", err)
	}
	if err := w.Check(cfg.GParams()); err != nil {
		return nil, errorf("generator weights: %w", err)
	}
	b := newBuilder("tgan_generator", w)
	z := b.g.Input("z", onnx.Batch, int64(cfg.LatentDim))
	if cfg.GNoise() {
		b.noise = b.g.Input(NoiseInput, onnx.Batch, int64(GeneratorNoise(cfg)))
	}
	x := b.linear(z, model.GL1W, model.GL1B)                                // [B, N0*C]
	x = b.reshape(x, -1, int64(cfg.StageTokens(0)), int64(cfg.StageDim(0))) // [B, N0, C]
	if cfg.GArch == model.GCeleba256 {
		b.embedding(z, cfg)
	}
	for s, stage := range cfg.GBlocks() {
		b.g.Scope(model.GPosEmbed(s))
		switch {
		case s > 0 && s <= cfg.BicubicStages():
			x = b.bicubicUpsample(x, cfg.StageDim(s-1), cfg.StageWidth(s-1))
		case s > 0:
			x = b.pixelUpsample(x, cfg.StageDim(s-1), cfg.StageWidth(s-1))
		}
		x = b.addPos(x, model.GPosEmbed(s))
		x = b.generatorStage(x, cfg, s, stage)
		if cfg.UpDownAfter(s) {
			x = b.updown(x, cfg.StageDim(s), cfg.StageWidth(s))
		}
	}
	b.g.Scope("deconv")
	last, side := cfg.Stages()-1, int64(cfg.ImageSize)
	x = b.tokensToMap(x, cfg.OutDim(), cfg.StageWidth(last), cfg.StageWidth(last))
	x = b.conv(x, model.GDeconvW, model.GDeconvB, 1, 1)
	b.g.Output(x, "image", onnx.Batch, 3, side, side)
	if b.err != nil {
		return nil, b.err
	}
	doc := "TransGAN generator exported by tgan: z -> raw image in about [-1, 1]."
	if b.noise != "" {
		doc = "TransGAN generator exported by tgan: z, attention noise -> raw image in about [-1, 1]."
	}
	return &onnx.Model{Graph: b.g, DocString: doc, Metadata: merge(Metadata(cfg, GeneratorNetwork), meta)}, b.g.Err()
}

// pixelUpsample maps tokens [B, H*W, C] of an H x W map to tokens
// [B, 4*H*W, C/4] of the 2H x 2W map: out[c, 2h+i, 2w+j] = in[4c+2i+j, h, w].
func (b *builder) pixelUpsample(x string, c, side int) string {
	x = b.tokensToMap(x, c, side, side)
	x = b.op("DepthToSpace", []onnx.Attr{onnx.AttrInt("blocksize", 2), onnx.AttrString("mode", "CRD")}, x)
	return b.mapToTokens(x, c/4, 4*side*side)
}
