package gmodel

import (
	"fmt"

	"github.com/tgan-dev/tgan/model"
)

// The v1 paper's multi-task co-training (MT-CT): besides mapping z to an
// image, G learns to super-resolve real images. The official code never
// released it, so the entry point and its two tensors are tgan's own:
//
//	low-res image [B, 3, w, w] (w = bottom width)
//	  -> one token per pixel [B*w*w, 3] -> sr_embed (3 -> g_dim) replaces l1(z)
//	  -> + pos_embed_1 -> the same G blocks, upsampling and deconv as BuildGenerator
//	  -> image [B, 3, S, S]
//
// Every G weight the path uses is shared with the z path (the same tensors);
// l1 is the only G weight it does not use.

// SR embedding tensors (not in the official state_dict; tgan names them).
const (
	SREmbedW = "sr_embed.weight" // [g_dim, 3], as an nn.Linear(3, g_dim) stores it
	SREmbedB = "sr_embed.bias"   // [g_dim]
)

// SRParams lists the tensors that the super-resolution path adds to G's.
func SRParams(cfg *model.Config) []model.Param {
	return []model.Param{
		{Name: SREmbedW, Shape: []int{cfg.GDim, 3}},
		{Name: SREmbedB, Shape: []int{cfg.GDim}},
	}
}

// BuildSRGenerator builds G's super-resolution path for batch size batch:
// low-resolution images [B, 3, w, w] (w = cfg.BottomWidth) -> images
// [B, 3, S, S] (raw, no tanh). w must hold G's weights and SRParams'
// tensors; the net's parameters share their memory, as BuildGenerator's do.
// The v1 locality mask is built as in BuildGenerator (SetEpoch sets it).
func BuildSRGenerator(cfg *model.Config, w model.Weights, batch int) (*Net, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := newBuilder(cfg, w, batch)
	n := b.net
	width := cfg.BottomWidth
	n.Input = b.input("low_res", batch, 3, width, width)

	x := reshape(permute(n.Input, 0, 2, 3, 1), batch*width*width, 3) // tokens row-major, RGB last
	x = b.linear(x, SREmbedW, SREmbedB)                              // [B*N0, C], in place of l1(z)
	x = addTiled(x, b.param(model.GPosEmbed(0)))
	n.Output = b.generatorTail(x, true)
	if b.err != nil {
		return nil, fmt.Errorf("build SR generator: %w", b.err)
	}
	return n, nil
}

// Downsample box-averages images [B, 3, S, S] to [B, 3, S/f, S/f], where
// f = S/side (torch's F.avg_pool2d(x, f), the same as area interpolation
// for an integer factor). S must be a multiple of side.
func Downsample(img []float32, batch, size, side int) ([]float32, error) {
	if side <= 0 || size%side != 0 || len(img) != batch*3*size*size {
		return nil, fmt.Errorf("downsample: %d values of [%d, 3, %d, %d] to side %d", len(img), batch, size, size, side)
	}
	f := size / side
	inv := 1 / float32(f*f)
	out := make([]float32, batch*3*side*side)
	for p := 0; p < batch*3; p++ {
		src, dst := img[p*size*size:(p+1)*size*size], out[p*side*side:(p+1)*side*side]
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				var s float32
				for dy := 0; dy < f; dy++ {
					row := src[(y*f+dy)*size+x*f:]
					for dx := 0; dx < f; dx++ {
						s += row[dx]
					}
				}
				dst[y*side+x] = s * inv
			}
		}
	}
	return out, nil
}
