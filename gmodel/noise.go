package gmodel

import (
	"fmt"
	"math/rand"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// Attention input noise (SPEC-hires 0.4): s * eps added to the normalised
// attention input, one standard-normal draw per token broadcast over the
// channels. The draws are inputs, so outputs are reproducible.
//
// Generators take one [B, N] input per noised attention, in image-token
// order (row-major pixels of the stage's map); a windowed attention
// partitions it like its tokens. The final D keeps its [B*N, C] input per
// attention (the draw repeated over the channels), which the trainer and
// engine fill through SetNoise.

// noiseSite is one noised attention's input node and geometry.
type noiseSite struct {
	node      *G.Node
	NoiseSite      // exported geometry
	perToken  bool // [B*N, C] with the draw repeated over C (the final D)
}

// NoiseSite describes one noised attention: Tokens draws per image, taken
// from a Side x Side map split into Window x Window windows (Window == Side
// or 0: global; Side 0: not a square map, e.g. with the cls token).
type NoiseSite struct{ Tokens, Side, Window int }

// attentionNoise returns the scaled noise of blk's attention for o,
// [B'*N', C] in the attention's token order.
func (b *builder) attentionNoise(blk model.Block, o blockOpts) *G.Node {
	B, N, C := o.batch, o.tokens, blk.Dim
	name := blk.Prefix + "noise"
	if !b.tokenNoise {
		noise := b.input(name, B*N, C)
		b.net.noises = append(b.net.noises, noiseSite{node: noise, NoiseSite: NoiseSite{Tokens: N}, perToken: true})
		return mulTiled(noise, b.param(blk.NoiseW()))
	}
	side, part, img, tokens := o.side, o.part, B, N
	if windowed(side, part) {
		tokens = side * side
		img = B * N / tokens
	}
	noise := b.input(name, img, tokens)
	b.net.noises = append(b.net.noises, noiseSite{node: noise, NoiseSite: NoiseSite{Tokens: tokens, Side: side, Window: part}})
	x := reshape(noise, B*N, 1)
	if windowed(side, part) {
		x = partition(x, img, side, part, 1)
	}
	return broadcastCols(mulTiled(x, b.param(blk.NoiseW())), B*N, C, B*N, C)
}

// NoiseSites lists the net's noised attentions in forward order.
func (n *Net) NoiseSites() []NoiseSite {
	out := make([]NoiseSite, len(n.noises))
	for i, s := range n.noises {
		out[i] = s.NoiseSite
	}
	return out
}

// NoiseLen is the number of draws one forward pass takes: Batch times the
// sum of the sites' Tokens.
func (n *Net) NoiseLen() int {
	t := 0
	for _, s := range n.noises {
		t += s.Tokens
	}
	return n.Batch * t
}

// SetNoise draws every attention's noise from rng (zeros when rng is
// nil), one standard-normal value per token: per site, in forward order,
// batch-major then image-token order. The learned noise_strength_1 scales
// it inside the graph.
func (n *Net) SetNoise(rng *rand.Rand) {
	for _, s := range n.noises {
		v := f32(s.node.Value())
		c := 1
		if s.perToken {
			c = s.node.Shape()[1]
		}
		for r := 0; r < len(v); r += c {
			x := float32(0)
			if rng != nil {
				x = float32(rng.NormFloat64())
			}
			for j := r; j < r+c; j++ {
				v[j] = x
			}
		}
	}
}

// SetNoiseDraws sets the noise from draws: per site in forward order, its
// [B, Tokens] draws in image-token order (NoiseLen values in all).
func (n *Net) SetNoiseDraws(draws []float32) error {
	if len(draws) != n.NoiseLen() {
		return fmt.Errorf("noise: %d draws, the net takes %d", len(draws), n.NoiseLen())
	}
	off := 0
	for _, s := range n.noises {
		v := f32(s.node.Value())
		k := n.Batch * s.Tokens
		if !s.perToken {
			copy(v, draws[off:off+k])
		} else {
			c := s.node.Shape()[1]
			for r, x := range draws[off : off+k] {
				for j := 0; j < c; j++ {
					v[r*c+j] = x
				}
			}
		}
		off += k
	}
	return nil
}

// OfficialNoise converts the official code's draws (per site in forward
// order, [B*nW, w*w] in window order, as testdata's *_noise.npy store them)
// to SetNoiseDraws' image-token order.
func OfficialNoise(sites []NoiseSite, batch int, official []float32) ([]float32, error) {
	out := make([]float32, 0, len(official))
	off := 0
	for _, s := range sites {
		k := batch * s.Tokens
		if off+k > len(official) {
			return nil, fmt.Errorf("noise: %d official draws, the sites need more than %d", len(official), off)
		}
		src := official[off : off+k]
		if !windowed(s.Side, s.Window) {
			out = append(out, src...)
		} else {
			dst := make([]float32, k)
			w2, nW := s.Window*s.Window, s.Tokens/(s.Window*s.Window)
			for i, x := range src {
				win, tok := i/w2, i%w2
				b := win / nW
				dst[b*s.Tokens+windowToImage(win%nW, tok, s.Side, s.Window)] = x
			}
			out = append(out, dst...)
		}
		off += k
	}
	if off != len(official) {
		return nil, fmt.Errorf("noise: %d official draws, the sites take %d", len(official), off)
	}
	return out, nil
}
