package gmodel

import (
	"fmt"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// scale3Trunk is the body of the two three-scale discriminators
// (Celeba256_dis, ViT_scale3_local_new_rp; model/threescale.go): three
// patch embeddings of the image; block groups at each scale (windowed
// where DGroupPartition says so); between scales 2x2 average pooling and a
// channel concat [pooled | next embedding] plus that scale's position
// embedding; then the cls token and the last block.
func (b *builder) scale3Trunk(img *G.Node) (*G.Node, int) {
	cfg, batch := b.net.Config, b.net.Batch
	groups := cfg.DBlocks()
	pos := []string{model.DPos1, model.DPos2, model.DPos3}
	var embeds [3]*G.Node
	for i := range embeds {
		embeds[i] = b.convEmbed(img, i)
	}
	x := addTiled(embeds[0], b.param(pos[0]))
	scale := 0
	for g := 0; g < len(groups)-1; g++ {
		if s := cfg.DGroupScale(g); s != scale {
			x = b.nextScale(x, embeds[s], scale)
			x = addTiled(x, b.param(pos[s]))
			scale = s
		}
		x = b.dGroup(x, groups[g], cfg.DScaleSide(scale), cfg.DGroupPartition(g))
	}
	side := cfg.DScaleSide(2)
	t, c := side*side, cfg.DDim
	x = b.prependCls(x, batch, t, c)
	x = b.block(x, groups[len(groups)-1][0], blockOpts{batch: batch, tokens: t + 1})
	return x, t + 1
}

// nextScale pools scale s's tokens x 2x2 and puts them in front of the
// channels of scale s+1's embedding e.
func (b *builder) nextScale(x, e *G.Node, s int) *G.Node {
	cfg, batch := b.net.Config, b.net.Batch
	side, c0 := cfg.DScaleSide(s), cfg.DScaleDim(s)
	rows, c := batch*side*side/4, cfg.DScaleDim(s+1)
	pooled := b.avgPool2(x, batch, side, c0)
	return G.Must(G.Add(padMid(pooled, rows, c, 1, 0, c0, rows, c), padMid(e, rows, c, 1, c0, c, rows, c)))
}

// dGroup runs blocks on the side x side map of tokens x (image order),
// inside part x part windows when part splits the map.
func (b *builder) dGroup(x *G.Node, blocks []model.Block, side, part int) *G.Node {
	batch := b.net.Batch
	if !windowed(side, part) {
		part = side
	}
	nW := (side / part) * (side / part)
	if len(blocks) == 0 {
		return x
	}
	c := blocks[0].Dim
	if nW > 1 {
		x = partition(x, batch, side, part, c)
	}
	for _, blk := range blocks {
		x = b.block(x, blk, blockOpts{batch: batch * nW, tokens: part * part, side: side, part: part})
	}
	if nW > 1 {
		x = unpartition(x, batch, side, part, c)
	}
	return x
}

// convEmbed is fRGB_{i+1}: Conv2d(3 -> E, kernel k, stride s, padding pad)
// on images [B, 3, S, S] as tokens [B*n*n, E], n = cfg.DScaleSide(i).
// Non-overlapping patches are a reshape; otherwise the im2col is a
// constant 0/1 matrix along each axis (exact derivatives of every order).
func (b *builder) convEmbed(img *G.Node, i int) *G.Node {
	cfg, batch := b.net.Config, b.net.Batch
	k, s, pad := cfg.DEmbedKernel(i)
	size, e := cfg.ImageSize, cfg.DEmbedDim(i)
	var rows *G.Node
	if k == s && pad == 0 {
		rows = patchify(img, batch, size, k)
	} else {
		rows = unfold(img, batch, size, k, s, pad)
	}
	names := [][2]string{{model.DRGB1W, model.DRGB1B}, {model.DRGB2W, model.DRGB2B}, {model.DRGB3W, model.DRGB3B}}
	if n := cfg.DScaleSide(i); rows.Shape()[0] != batch*n*n {
		b.fail(fmt.Errorf("%s: %d patches per image, scale %d has %d", names[i][0], rows.Shape()[0]/batch, i, n*n))
	}
	return b.linear(rows, names[i][0], names[i][1], e, 3*k*k)
}

// unfold is im2col for images [B, 3, S, S]: patch rows [B*n*n, 3*k*k]
// ordered (channel, row, col) like a Conv2d weight, patches row-major.
func unfold(img *G.Node, batch, size, k, s, pad int) *G.Node {
	m, n := unfoldMatrix(size, k, s, pad)
	kind := fmt.Sprintf("unfold(%d,%d,%d)", k, s, pad)
	x := axisMap(img, kind, m, n*k, batch*3, size, size, batch*3*n*k*size)   // along H
	x = axisMap(x, kind, m, n*k, batch*3*n*k, size, 1, batch, 3, n, k, n, k) // along W
	return reshape(permute(x, 0, 2, 4, 1, 3, 5), batch*n*n, 3*k*k)
}
