package model

import "fmt"

// Names of the discriminator tensors outside the blocks.
const (
	DCls    = "cls_token"
	DHeadW  = "head.weight"
	DHeadB  = "head.bias"
	DPatchW = "patch_embed.weight" // v1
	DPatchB = "patch_embed.bias"
	DPos    = "pos_embed"     // v1: [1, N+1, C]
	DRGB1W  = "fRGB_1.weight" // final
	DRGB1B  = "fRGB_1.bias"
	DRGB2W  = "fRGB_2.weight"
	DRGB2B  = "fRGB_2.bias"
	DPos1   = "pos_embed_1"
	DPos2   = "pos_embed_2"
	DRGB3W  = "fRGB_3.weight" // celeba256, scale3
	DRGB3B  = "fRGB_3.bias"
	DPos3   = "pos_embed_3"
	// DFilterBankName is Celeba256_dis's buffer of the "filter"
	// augmentation's four wavelet bands, [4, 43].
	DFilterBankName = "Hz_fbank"
)

// DNormW and DNormB name the final LayerNorm before the head.
func (c *Config) DNormW() string { return c.dNorm("weight") }

// DNormB names the bias of the final LayerNorm.
func (c *Config) DNormB() string { return c.dNorm("bias") }

func (c *Config) dNorm(w string) string {
	if c.DKind != DViT {
		return "norm.norm." + w
	}
	return "norm." + w
}

func (c *Config) dBlock(prefix string, dim, window int) Block {
	return Block{
		Prefix: prefix, Dim: dim, Heads: c.DHeads, Hidden: dim * c.MLPRatio, Window: window,
		Noise: c.DKind == DScale2 && !c.DNoNoise, NormLevel: c.DKind != DViT,
		PixelNorm: c.DNorm == PixelNorm,
	}
}

// DBlocks returns the discriminator blocks in execution order, grouped:
// v1: one group; final: blocks_1, blocks_2, last_block.
func (c *Config) DBlocks() [][]Block {
	switch c.DKind {
	case DCeleba256, DScale3:
		return c.dBlocks3()
	}
	if c.DKind == DViT {
		g := make([]Block, c.DDepth)
		for i := range g {
			g[i] = c.dBlock(fmt.Sprintf("blocks.%d.", i), c.DDim, 0)
		}
		return [][]Block{g}
	}
	w1, w2 := 0, 0
	if c.DRelPos {
		w1, w2 = c.ImageSize/c.DPatch, c.DScale2Side()
	}
	g1, g2 := make([]Block, c.DDepth), make([]Block, c.DDepth)
	for i := range g1 {
		g1[i] = c.dBlock(fmt.Sprintf("blocks_1.%d.", i), c.DScale1Dim(), w1)
		g2[i] = c.dBlock(fmt.Sprintf("blocks_2.%d.", i), c.DDim, w2)
	}
	return [][]Block{g1, g2, {c.dBlock("last_block.0.", c.DDim, 0)}}
}

// DParams lists every discriminator tensor.
func (c *Config) DParams() []Param {
	var ps []Param
	p := c.DPatch
	switch {
	case c.DKind == DCeleba256 || c.DKind == DScale3:
		ps = c.dStemParams3()
	case c.DKind == DViT:
		ps = []Param{
			{Name: DCls, Shape: []int{1, 1, c.DDim}},
			{Name: DPos, Shape: []int{1, c.DTokens() + 1, c.DDim}},
			{Name: DPatchW, Shape: []int{c.DDim, 3, p, p}},
			{Name: DPatchB, Shape: []int{c.DDim}},
		}
	default:
		s2 := c.DScale2Side()
		ps = []Param{
			{Name: DRGB1W, Shape: []int{c.DScale1Dim(), 3, p, p}},
			{Name: DRGB1B, Shape: []int{c.DScale1Dim()}},
			{Name: DRGB2W, Shape: []int{c.DDim / 4, 3, 2 * p, 2 * p}},
			{Name: DRGB2B, Shape: []int{c.DDim / 4}},
			{Name: DCls, Shape: []int{1, 1, c.DDim}},
			{Name: DPos1, Shape: []int{1, c.DTokens(), c.DScale1Dim()}},
			{Name: DPos2, Shape: []int{1, s2 * s2, c.DDim}},
		}
	}
	for _, g := range c.DBlocks() {
		for _, b := range g {
			ps = append(ps, b.Params()...)
		}
	}
	if c.DNorm != PixelNorm {
		ps = append(ps, Param{Name: c.DNormW(), Shape: []int{c.DDim}}, Param{Name: c.DNormB(), Shape: []int{c.DDim}})
	}
	ps = append(ps, Param{Name: DHeadW, Shape: []int{1, c.DDim}}, Param{Name: DHeadB, Shape: []int{1}})
	if c.DFilterBank {
		ps = append(ps, Param{Name: DFilterBankName, Shape: []int{4, 43}, Buffer: true})
	}
	return ps
}
