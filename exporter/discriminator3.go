package exporter

import (
	"fmt"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// discriminator3 is the three-scale D of the 256 models (Celeba256_dis,
// ViT_scale3_local_new_rp; model/threescale.go): scale i embeds the image
// with fRGB_{i+1} (Celeba's first an overlapping convolution with
// padding); from the second scale on, the previous scale's tokens are
// average-pooled 2x2 and concatenated before the new embedding (pooled
// channels first); + pos_embed_{i+1}; then the block groups of that scale,
// windowed or global. Last: cls token first (no positional term),
// last_block.0, the final norm and the head on token 0. Neither family
// has attention noise.
func (b *builder) discriminator3(cfg *model.Config, img string) string {
	groups := cfg.DBlocks()
	rgb := [3][2]string{{model.DRGB1W, model.DRGB1B}, {model.DRGB2W, model.DRGB2B}, {model.DRGB3W, model.DRGB3B}}
	pos := [3]string{model.DPos1, model.DPos2, model.DPos3}
	var x string
	for i := 0; i < 3; i++ {
		side, dim := cfg.DScaleSide(i), cfg.DScaleDim(i)
		b.g.Scope(fmt.Sprintf("fRGB_%d", i+1))
		k, s, p := cfg.DEmbedKernel(i)
		e := b.mapToTokens(b.convPad(img, rgb[i][0], rgb[i][1], k, s, p), cfg.DEmbedDim(i), side*side)
		if i == 0 {
			x = e
		} else {
			x = b.avgPool2(x, cfg.DScaleDim(i-1), cfg.DScaleSide(i-1))
			x = b.op("Concat", []onnx.Attr{onnx.AttrInt("axis", 2)}, x, e)
		}
		x = b.addPos(x, pos[i])
		for g := 0; g < len(groups)-1; g++ {
			if cfg.DGroupScale(g) == i {
				x = b.windowedBlocks(x, groups[g], nil, side, cfg.DGroupPartition(g), dim)
			}
		}
	}
	b.g.Scope("cls")
	side := cfg.DScaleSide(2)
	x = b.prependCls(x, img, cfg.DDim)
	x = b.clsBlocks(x, groups[len(groups)-1], nil, side*side+1, cfg.DDim)
	return b.clsHead(x, cfg.DNormW(), cfg.DNormB(), cfg.DNorm == model.PixelNorm)
}

// clsBlocks runs blocks on tokens [B, n, C] that start with the cls token
// (no windows, no partition), with optional noise columns.
func (b *builder) clsBlocks(x string, blks []model.Block, noise []string, n, c int) string {
	if len(blks) == 0 {
		return x
	}
	x = b.reshape(x, -1, int64(c))
	for i, blk := range blks {
		col := ""
		if i < len(noise) {
			col = noise[i]
		}
		x = b.block(x, blk, n, col)
	}
	return b.reshape(x, -1, int64(n), int64(c))
}
