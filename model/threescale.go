package model

import "fmt"

// The two three-scale discriminators of the 256 models read the image at
// patch sizes p, 2p and 4p (Celeba256_dis: an overlapping 2p x 2p
// convolution with stride p for the first scale). Each scale's blocks run
// on its feature map; the map is then average-pooled 2x2 and concatenated,
// pooled channels first, with the next scale's patch embedding.
//
//	                 celeba256 (D = d_dim)        scale3 (D = d_dim)
//	scale 1 width    D/4                          3D/4
//	scale 2 width    D/2  (D/4 pooled + D/4 new)  7D/8 (3D/4 pooled + D/8 new)
//	scale 3 width    D    (D/2 pooled + D/2 new)  D    (7D/8 pooled + D/8 new)
//	group 0          blocks_1 x k, windowed       blocks_1 x (k-1), windowed, rel-pos
//	group 1          blocks_2 x (k-1), windowed   blocks_11 x 1, global, rel-pos
//	group 2          blocks_21 x 1, global        blocks_2 x k, global, rel-pos
//	group 3          blocks_3 x (k+1), global     blocks_3 x (k+1), global, rel-pos
//	group 4          last_block x 1 (with cls)    last_block x 1 (with cls)
//
// Group g runs at scale DGroupScale(g); groups 0 and 1 of celeba256 and
// group 0 of scale3 partition their map into DWindow x DWindow windows.

// DScaleSide is the feature-map side of scale i (0, 1, 2) of a three-scale D.
func (c *Config) DScaleSide(i int) int { return c.ImageSize / c.DPatch >> i }

// DScaleDim is the token width of scale i of a three-scale D.
func (c *Config) DScaleDim(i int) int {
	d := c.DDim
	if c.DKind == DCeleba256 {
		return []int{d / 4, d / 2, d}[i]
	}
	return []int{d / 4 * 3, d / 8 * 7, d}[i]
}

// DEmbedDim is the width of scale i's own patch embedding (fRGB_{i+1}).
func (c *Config) DEmbedDim(i int) int {
	if i == 0 {
		return c.DScaleDim(0)
	}
	return c.DScaleDim(i) - c.DScaleDim(i-1)
}

// DEmbedKernel is the convolution kernel, stride and padding of fRGB_{i+1}.
func (c *Config) DEmbedKernel(i int) (kernel, stride, pad int) {
	p := c.DPatch << i
	if c.DKind == DCeleba256 && i == 0 {
		return 2 * p, p, p / 2 // overlapping first patch embedding
	}
	return p, p, 0
}

// DGroupScale is the scale (0, 1, 2) at which block group g of a
// three-scale D runs; the last group (with the cls token) reports 2.
func (c *Config) DGroupScale(g int) int {
	if c.DKind == DCeleba256 {
		return []int{0, 1, 1, 2, 2}[g]
	}
	return []int{0, 0, 1, 2, 2}[g]
}

// DGroupPartition is the window side into which group g partitions its
// feature map, or 0 when its attention is global.
func (c *Config) DGroupPartition(g int) int {
	if g == 0 || (g == 1 && c.DKind == DCeleba256) {
		return c.DWindow
	}
	return 0
}

func (c *Config) dBlocks3() [][]Block {
	k := c.DDepth
	type group struct {
		name  string
		count int
		rel   int // relative-position window (scale3 only)
	}
	var gs []group
	if c.DKind == DCeleba256 {
		gs = []group{{"blocks_1", k, 0}, {"blocks_2", k - 1, 0}, {"blocks_21", 1, 0}, {"blocks_3", k + 1, 0}}
	} else {
		gs = []group{
			{"blocks_1", k - 1, c.DWindow}, {"blocks_11", 1, c.DScaleSide(0)},
			{"blocks_2", k, c.DScaleSide(1)}, {"blocks_3", k + 1, c.DScaleSide(2)},
		}
	}
	out := make([][]Block, 0, 5)
	for g, gr := range gs {
		blocks := make([]Block, gr.count)
		for i := range blocks {
			blocks[i] = c.dBlock(fmt.Sprintf("%s.%d.", gr.name, i), c.DScaleDim(c.DGroupScale(g)), gr.rel)
		}
		out = append(out, blocks)
	}
	return append(out, []Block{c.dBlock("last_block.0.", c.DDim, 0)})
}

// dStemParams3 lists the patch embeddings, cls token and position
// embeddings of a three-scale D.
func (c *Config) dStemParams3() []Param {
	var ps []Param
	names := [][2]string{{DRGB1W, DRGB1B}, {DRGB2W, DRGB2B}, {DRGB3W, DRGB3B}}
	for i, n := range names {
		k, _, _ := c.DEmbedKernel(i)
		ps = append(ps,
			Param{Name: n[0], Shape: []int{c.DEmbedDim(i), 3, k, k}},
			Param{Name: n[1], Shape: []int{c.DEmbedDim(i)}})
	}
	ps = append(ps, Param{Name: DCls, Shape: []int{1, 1, c.DDim}})
	for i, name := range []string{DPos1, DPos2, DPos3} {
		side := c.DScaleSide(i)
		ps = append(ps, Param{Name: name, Shape: []int{1, side * side, c.DScaleDim(i)}})
	}
	return ps
}
