package model

import "fmt"

// Param is one tensor of a network: its official PyTorch state_dict name
// (without the DataParallel "module." prefix), its shape, and whether it is a
// trained float32 weight or a buffer (int64 index tables, BatchNorm statistics).
type Param struct {
	Name  string
	Shape []int
	Int64 bool // stored as int64 (relative_position_index, num_batches_tracked)
	// Buffer marks tensors that are saved but never trained.
	Buffer bool
	// Dead marks a Buffer that the official module registers as a
	// parameter but never reads (Celeba256_gen's cross_attention
	// noise_strength_1): it counts in the optimizer's parameter order.
	Dead bool
}

// Size is the number of elements.
func (p Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Block describes one pre-norm transformer block and names its tensors.
type Block struct {
	Prefix    string // e.g. "blocks.0." or "upsample_blocks.1.block.0."
	Dim       int    // token width C
	Heads     int
	Hidden    int  // MLP width
	Window    int  // relative-position window side; 0 = no bias
	Noise     bool // learned noise on the attention input (attn.noise_strength_1)
	NormLevel bool // final code: LayerNorms live one level down (norm1.norm.weight)
	// PixelNorm replaces both LayerNorms by PixelNorm (no tensors).
	PixelNorm bool
	// NoiseAfterTable puts noise_strength_1 after the relative-position
	// table in the attention's registration order (the 256 generators);
	// the final D registers it first.
	NoiseAfterTable bool
	// Cross is the width of the z embedding the block cross-attends to
	// before its self-attention (Celeba256_gen); 0 = no cross-attention.
	Cross int
}

func (b Block) norm(i int, w string) string {
	if b.NormLevel {
		return fmt.Sprintf("%snorm%d.norm.%s", b.Prefix, i, w)
	}
	return fmt.Sprintf("%snorm%d.%s", b.Prefix, i, w)
}

// Tensor names of the block.
func (b Block) LN1W() string     { return b.norm(1, "weight") }
func (b Block) LN1B() string     { return b.norm(1, "bias") }
func (b Block) LN2W() string     { return b.norm(2, "weight") }
func (b Block) LN2B() string     { return b.norm(2, "bias") }
func (b Block) QKV() string      { return b.Prefix + "attn.qkv.weight" }
func (b Block) ProjW() string    { return b.Prefix + "attn.proj.weight" }
func (b Block) ProjB() string    { return b.Prefix + "attn.proj.bias" }
func (b Block) FC1W() string     { return b.Prefix + "mlp.fc1.weight" }
func (b Block) FC1B() string     { return b.Prefix + "mlp.fc1.bias" }
func (b Block) FC2W() string     { return b.Prefix + "mlp.fc2.weight" }
func (b Block) FC2B() string     { return b.Prefix + "mlp.fc2.bias" }
func (b Block) RelTable() string { return b.Prefix + "attn.relative_position_bias_table" }
func (b Block) RelIndex() string { return b.Prefix + "attn.relative_position_index" }
func (b Block) NoiseW() string   { return b.Prefix + "attn.noise_strength_1" }

// Cross-attention tensor names (Celeba256_gen blocks).
func (b Block) CrossQ() string     { return b.Prefix + "cross_attention.q_transform.weight" }
func (b Block) CrossK() string     { return b.Prefix + "cross_attention.k_transform.weight" }
func (b Block) CrossV() string     { return b.Prefix + "cross_attention.v_transform.weight" }
func (b Block) CrossProjW() string { return b.Prefix + "cross_attention.proj.weight" }
func (b Block) CrossProjB() string { return b.Prefix + "cross_attention.proj.bias" }

// CrossNoiseW names the cross-attention's noise strength: created by the
// official module and never read (always 0), kept for strict round trips.
func (b Block) CrossNoiseW() string { return b.Prefix + "cross_attention.noise_strength_1" }

// Params lists the block's tensors in the registration order of its
// modules (pth's moduleOrder turns that into state_dict order).
func (b Block) Params() []Param {
	c, h := b.Dim, b.Hidden
	var ps []Param
	if !b.PixelNorm {
		ps = append(ps, Param{Name: b.LN1W(), Shape: []int{c}}, Param{Name: b.LN1B(), Shape: []int{c}})
	}
	noise := Param{Name: b.NoiseW(), Shape: []int{}}
	if b.Noise && !b.NoiseAfterTable {
		ps = append(ps, noise)
	}
	ps = append(ps,
		Param{Name: b.QKV(), Shape: []int{3 * c, c}},
		Param{Name: b.ProjW(), Shape: []int{c, c}},
		Param{Name: b.ProjB(), Shape: []int{c}})
	if b.Window > 0 {
		ps = append(ps, Param{Name: b.RelTable(), Shape: []int{(2*b.Window - 1) * (2*b.Window - 1), b.Heads}})
	}
	if b.Noise && b.NoiseAfterTable {
		ps = append(ps, noise)
	}
	if b.Window > 0 {
		w2 := b.Window * b.Window
		ps = append(ps, Param{Name: b.RelIndex(), Shape: []int{w2, w2}, Int64: true, Buffer: true})
	}
	if !b.PixelNorm {
		ps = append(ps, Param{Name: b.LN2W(), Shape: []int{c}}, Param{Name: b.LN2B(), Shape: []int{c}})
	}
	ps = append(ps,
		Param{Name: b.FC1W(), Shape: []int{h, c}}, Param{Name: b.FC1B(), Shape: []int{h}},
		Param{Name: b.FC2W(), Shape: []int{c, h}}, Param{Name: b.FC2B(), Shape: []int{c}})
	if b.Cross > 0 {
		ps = append(ps,
			Param{Name: b.CrossNoiseW(), Shape: []int{}, Buffer: true, Dead: true},
			Param{Name: b.CrossQ(), Shape: []int{c, c}},
			Param{Name: b.CrossK(), Shape: []int{c, b.Cross}},
			Param{Name: b.CrossV(), Shape: []int{c, b.Cross}},
			Param{Name: b.CrossProjW(), Shape: []int{c, c}},
			Param{Name: b.CrossProjB(), Shape: []int{c}})
	}
	return ps
}

// RelPosIndex is the Swin relative-position index for a w x w map, row-major:
// index[i*w*w+j] = (h_i-h_j+w-1)*(2w-1) + (w_i-w_j+w-1).
func RelPosIndex(w int) []int64 {
	n := w * w
	idx := make([]int64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dh := i/w - j/w + w - 1
			dw := i%w - j%w + w - 1
			idx[i*n+j] = int64(dh*(2*w-1) + dw)
		}
	}
	return idx
}

// LocalityMask reports whether token i may attend to token j under the v1
// locality-aware mask of window w (a band on the flattened index).
func LocalityMask(i, j, w int) bool { return i-j <= w && j-i <= w }

// MaskedLogit is the value the v1 code writes into masked attention logits.
const MaskedLogit = -1e9
