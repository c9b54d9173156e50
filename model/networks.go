package model

import "fmt"

// GBlocks returns the generator blocks, one slice per stage.
func (c *Config) GBlocks() [][]Block {
	stages := make([][]Block, c.Stages())
	for s, depth := range c.GDepths {
		for i := 0; i < depth; i++ {
			b := Block{Dim: c.StageDim(s), Heads: c.GHeads, Hidden: c.StageDim(s) * c.MLPRatio}
			switch {
			case c.BicubicStages() > 0: // the 256 generators name stages blocks_1..blocks_6
				b.Prefix = fmt.Sprintf("blocks_%d.block.%d.", s+1, i)
			case c.Version == V1 && s == 0:
				b.Prefix = fmt.Sprintf("blocks.%d.", i)
			case c.Version == V1:
				b.Prefix = fmt.Sprintf("upsample_blocks.%d.%d.", s-1, i)
			case s == 0:
				b.Prefix = fmt.Sprintf("blocks.block.%d.", i)
			default:
				b.Prefix = fmt.Sprintf("upsample_blocks.%d.block.%d.", s-1, i)
			}
			b.NormLevel = c.Version == Final
			b.PixelNorm = c.GNorm == PixelNorm
			b.Noise = c.GNoise()
			switch {
			case c.GRelPos:
				b.Window = c.StageWidth(s)
			case s < len(c.GWindows):
				b.Window = c.GWindows[s]
			}
			if c.BicubicStages() > 0 {
				b.NoiseAfterTable = true
			}
			if c.GArch == GCeleba256 {
				b.Cross = c.GDim
			}
			stages[s] = append(stages[s], b)
		}
	}
	return stages
}

// MaskedBlock reports whether generator block i of stage s carries the v1
// locality mask: only the last block of the last stage does.
func (c *Config) MaskedBlock(s, i int) bool {
	return len(c.MaskSchedule) > 0 && s == c.Stages()-1 && i == c.GDepths[s]-1
}

// GPosEmbed is the name of the positional embedding added at stage s.
func GPosEmbed(s int) string { return fmt.Sprintf("pos_embed_%d", s+1) }

// Names of the generator tensors outside the blocks.
const (
	GL1W     = "l1.weight"
	GL1B     = "l1.bias"
	GDeconvW = "deconv.0.weight"
	GDeconvB = "deconv.0.bias"
	// Celeba256_gen: the z embedding that every block cross-attends to.
	GEmbedW   = "embedding_transform.weight"
	GEmbedB   = "embedding_transform.bias"
	GEmbedPos = "embed_pos"
)

// GParams lists every generator tensor.
func (c *Config) GParams() []Param {
	ps := []Param{
		{Name: GL1W, Shape: []int{c.StageTokens(0) * c.GDim, c.LatentDim}},
		{Name: GL1B, Shape: []int{c.StageTokens(0) * c.GDim}},
	}
	if c.GArch == GCeleba256 {
		ps = append(ps,
			Param{Name: GEmbedW, Shape: []int{c.StageTokens(0) * c.GDim, c.LatentDim}},
			Param{Name: GEmbedB, Shape: []int{c.StageTokens(0) * c.GDim}})
	}
	for s := range c.GDepths {
		ps = append(ps, Param{Name: GPosEmbed(s), Shape: []int{1, c.StageTokens(s), c.StageDim(s)}})
	}
	if c.GArch == GCeleba256 {
		ps = append(ps, Param{Name: GEmbedPos, Shape: []int{1, c.StageTokens(0), c.GDim}})
	}
	for _, stage := range c.GBlocks() {
		for _, b := range stage {
			ps = append(ps, b.Params()...)
		}
	}
	ps = append(ps,
		Param{Name: GDeconvW, Shape: []int{3, c.OutDim(), 1, 1}},
		Param{Name: GDeconvB, Shape: []int{3}})
	if c.Version == V1 {
		ps = append(ps, toRGBParams(c.GDim)...)
	}
	return ps
}

// toRGBParams is the v1 generator's unused BatchNorm2d: it never runs but
// official checkpoints carry it, so tgan keeps it for strict round trips.
func toRGBParams(c int) []Param {
	return []Param{
		{Name: "to_rgb.0.weight", Shape: []int{c}, Buffer: true},
		{Name: "to_rgb.0.bias", Shape: []int{c}, Buffer: true},
		{Name: "to_rgb.0.running_mean", Shape: []int{c}, Buffer: true},
		{Name: "to_rgb.0.running_var", Shape: []int{c}, Buffer: true},
		{Name: "to_rgb.0.num_batches_tracked", Shape: []int{}, Int64: true, Buffer: true},
	}
}
