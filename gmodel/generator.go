package gmodel

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/tgan-dev/tgan/model"
)

// BuildGenerator builds G for batch size batch: z [B, latent] -> images
// [B, 3, S, S] (raw, no tanh, as the official generators).
//
// Options: Inference() leaves out the v1 locality mask (SetEpoch then does
// nothing), which saves one pass over the largest attention matrix.
func BuildGenerator(cfg *model.Config, w model.Weights, batch int, opts ...Option) (*Net, error) {
	var build buildOptions
	for _, opt := range opts {
		opt(&build)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(cfg, w, batch)
	n := b.net
	n.Input = b.input("z", batch, cfg.LatentDim)

	width, dim := cfg.BottomWidth, cfg.GDim
	x := b.linear(n.Input, model.GL1W, model.GL1B) // [B, N0*C]
	x = reshape(x, batch*width*width, dim)         // tokens [B*N0, C]
	x = addTiled(x, b.param(model.GPosEmbed(0)))
	if cfg.GArch == model.GCeleba256 {
		b.memory = b.zEmbedding(n.Input)
	}
	n.Output = b.generatorTail(x, !build.inference)
	if b.err != nil {
		return nil, fmt.Errorf("build generator: %w", b.err)
	}
	return n, nil
}

// generatorTail runs G from the stage-1 tokens x [B*N0, C] (position
// embedding added) to the images [B, 3, S, S]: the stages with their pixel
// upsampling, then deconv.0. With masked, the v1 locality mask of the last
// block is an input that SetEpoch fills. The 256 generators' first
// upsamplings are bicubic (channels kept) and Celeba256_gen filters some
// stages with updown.
func (b *builder) generatorTail(x *G.Node, masked bool) *G.Node {
	cfg, batch := b.net.Config, b.net.Batch
	b.tokenNoise = true
	width, dim := cfg.BottomWidth, cfg.GDim
	for s := range cfg.GBlocks() {
		if s > 0 {
			if s <= cfg.BicubicStages() {
				x = bicubicUp(x, batch, width, dim)
			} else {
				x = pixelUpsample(x, batch, width, dim)
				dim /= 4
			}
			width *= 2
			x = addTiled(x, b.param(model.GPosEmbed(s)))
		}
		x = b.stage(x, s, masked)
		if cfg.UpDownAfter(s) {
			x = updown(x, batch, width, dim)
		}
	}
	// deconv.0 is a 1x1 convolution: a linear map of every token to RGB.
	x = b.linear(x, model.GDeconvW, model.GDeconvB, 3, dim) // [B*N, 3]
	x = permute(reshape(x, batch, width*width, 3), 0, 2, 1) // [B, 3, N]
	return reshape(x, batch, 3, width, width)
}

// pixelUpsample is PixelShuffle(2) on the channel-major view of the tokens:
// out[c, 2h+i, 2w+j] = in[4c+2i+j, h, w], so tokens [B*H*W, C] become
// [B*4HW, C/4] in row-major order.
func pixelUpsample(x *G.Node, batch, width, dim int) *G.Node {
	x = reshape(x, batch, width, width, dim/4, 2, 2) // [B, h, w, c, i, j]
	x = permute(x, 0, 1, 4, 2, 5, 3)                 // [B, h, i, w, j, c]
	return reshape(x, batch*4*width*width, dim/4)
}

// Option changes how a network is built.
type Option func(*buildOptions)

type buildOptions struct{ inference bool }

// Inference builds a net for sampling only: no v1 locality mask.
func Inference() Option { return func(o *buildOptions) { o.inference = true } }
