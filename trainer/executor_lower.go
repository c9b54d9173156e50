package trainer

import (
	"fmt"

	"github.com/tgan-dev/tgan/internal/data/augment"
	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/onnx"
	G "gorgonia.org/gorgonia"
)

// lowering lowers the trainer's own op, DiffAugment (augOp), for one
// graph: the slot's sampled parameters become graph inputs, filled before
// each run from the same draws the tape machine's augOp.Do applies.
type lowering struct {
	t     *Trainer
	augIn map[*augSlot]augInputs
}

func (lw *lowering) ext(l *lower.Lowerer, n *G.Node, ins []string) (string, bool, error) {
	op, ok := n.Op().(*augOp)
	if !ok {
		return "", false, nil
	}
	return lw.augment(l, ins[0], op.slot, op.mode, op.shape[0]), true, nil
}

// augInputs are the graph inputs that carry one slot's sampled parameters,
// one entry per policy operation (empty names for absent ones).
type augInputs struct {
	b                     int
	bright, sat, contrast string // [B,1,1,1]
	shiftFwd, shiftBack   string // [B,1,HW] source indices (HW: zero)
	// Per policy index: the 0/1 mask [B,1,S,S] of cutout and the erase
	// variants, the hue rotation [B,3,3] and its transpose, the filter's
	// per-sample matrix A [B,1,S,S] (one axis: out = A in) and its transpose.
	mask, hue, hueT, filt, filtT map[int]string
}

// inputsFor declares (once per slot) the inputs of the slot's parameters
// for a batch of b. Every input is filled before each run from the slot's
// current chunks, so the lowered augmentation sees exactly the draws of
// augOp.Do.
func (lw *lowering) inputsFor(l *lower.Lowerer, slot *augSlot, b int) augInputs {
	if in, ok := lw.augIn[slot]; ok {
		return in
	}
	S := lw.t.Config.ImageSize
	ops := lw.t.policy.Ops
	pfx := fmt.Sprintf("aug%d/", len(lw.augIn))
	in := augInputs{b: b, mask: map[int]string{}, hue: map[int]string{}, hueT: map[int]string{}, filt: map[int]string{}, filtT: map[int]string{}}
	// fill concatenates, over the slot's chunks, f of the chunk's step of
	// policy operation i (nil where it was not drawn) and the chunk's size.
	fill := func(i int, f func(s augment.Step, n int) []float32) func() []float32 {
		return func() []float32 {
			if len(slot.chunks) == 0 {
				return f(nil, b)
			}
			n := b / len(slot.chunks)
			var out []float32
			for _, p := range slot.chunks {
				out = append(out, f(alignSteps(p, ops)[i], n)...)
			}
			return out
		}
	}
	name := func(i int, op augment.Op) string { // policy index keeps repeated ops apart
		if i == 0 || op == augment.OpCutout {
			return pfx + string(op)
		}
		return fmt.Sprintf("%s%s%d", pfx, op, i)
	}
	for i, op := range ops {
		switch op {
		case augment.OpColor:
			col := func(pick func(c *augment.Color) []float32, def float32) func() []float32 {
				return fill(i, func(s augment.Step, n int) []float32 {
					out := make([]float32, n)
					c, _ := s.(*augment.Color)
					for j := range out {
						out[j] = def
						if c != nil {
							out[j] = pick(c)[j]
						}
					}
					return out
				})
			}
			shape := []int{b, 1, 1, 1}
			in.bright = l.AddExtra(pfx+"brightness", shape, col(func(c *augment.Color) []float32 { return c.Brightness }, 0))
			in.sat = l.AddExtra(pfx+"saturation", shape, col(func(c *augment.Color) []float32 { return c.Saturation }, 1))
			in.contrast = l.AddExtra(pfx+"contrast", shape, col(func(c *augment.Color) []float32 { return c.Contrast }, 1))
		case augment.OpTranslation:
			shift := func(sign int) func() []float32 {
				return fill(i, func(s augment.Step, n int) []float32 {
					tr, _ := s.(*augment.Translation)
					return shiftIndex(tr, n, S, sign)
				})
			}
			in.shiftFwd = l.AddExtra(pfx+"shift", []int{b, 1, S * S}, shift(1))
			in.shiftBack = l.AddExtra(pfx+"shift_back", []int{b, 1, S * S}, shift(-1))
		case augment.OpCutout, augment.OpEraseRatio, augment.OpSTLEraseRatio, augment.OpErase:
			in.mask[i] = l.AddExtra(name(i, op), []int{b, 1, S, S}, fill(i, func(s augment.Step, n int) []float32 {
				co, _ := s.(*augment.Cutout)
				return cutoutMask(co, n, S)
			}))
		case augment.OpHue:
			rot := func(trans bool) func() []float32 {
				return fill(i, func(s augment.Step, n int) []float32 {
					h, _ := s.(*augment.Hue)
					return hueMatrices(h, n, trans)
				})
			}
			in.hue[i] = l.AddExtra(name(i, op), []int{b, 3, 3}, rot(false))
			in.hueT[i] = l.AddExtra(name(i, op)+"_t", []int{b, 3, 3}, rot(true))
		case augment.OpFilter:
			mat := func(trans bool) func() []float32 {
				return fill(i, func(s augment.Step, n int) []float32 {
					f, _ := s.(*augment.Filter)
					return filterMatrices(f, n, S, trans)
				})
			}
			in.filt[i] = l.AddExtra(name(i, op), []int{b, 1, S, S}, mat(false))
			in.filtT[i] = l.AddExtra(name(i, op)+"_t", []int{b, 1, S, S}, mat(true))
		}
	}
	lw.augIn[slot] = in
	return in
}

// augment lowers DiffAugment with slot's parameters on x [b, 3, S, S].
func (lw *lowering) augment(l *lower.Lowerer, x string, slot *augSlot, mode, b int) string {
	ops := lw.t.policy.Ops
	if len(ops) == 0 {
		return x
	}
	S := lw.t.Config.ImageSize
	in := lw.inputsFor(l, slot, b)
	tr := mode == augTransposed
	step := func(i int, op augment.Op) {
		switch op {
		case augment.OpColor:
			if tr { // symmetric parts in reverse order
				x = contrastONNX(l, x, in.contrast)
				x = saturateONNX(l, x, in.sat)
				return
			}
			if mode == augApply {
				x = l.Add(x, in.bright)
			}
			x = contrastONNX(l, saturateONNX(l, x, in.sat), in.contrast)
		case augment.OpTranslation:
			idx := in.shiftFwd
			if tr {
				idx = in.shiftBack
			}
			x = shiftONNX(l, x, idx, b, S)
		case augment.OpCutout, augment.OpEraseRatio, augment.OpSTLEraseRatio, augment.OpErase:
			x = l.Mul(x, in.mask[i]) // a 0/1 mask is its own transpose
		case augment.OpHue:
			m := in.hue[i]
			if tr {
				m = in.hueT[i]
			}
			flat := l.Reshape(x, []int{b, 3, S * S})
			x = l.Reshape(l.G.Op("MatMul", []string{m, flat}), []int{b, 3, S, S})
		case augment.OpFilter: // A X A^T; transposed: A^T G A
			a, at := in.filt[i], in.filtT[i]
			if tr {
				a, at = at, a
			}
			x = l.G.Op("MatMul", []string{a, l.G.Op("MatMul", []string{x, at})})
		}
	}
	if tr {
		for i := len(ops) - 1; i >= 0; i-- {
			step(i, ops[i])
		}
	} else {
		for i, op := range ops {
			step(i, op)
		}
	}
	return x
}

// saturateONNX: x = (x - m)*s + m, m the per-pixel mean over channels.
func saturateONNX(l *lower.Lowerer, x, s string) string {
	m := l.ReduceMean(x, true, 1)
	return l.Add(l.Mul(l.Sub(x, m), s), m)
}

// contrastONNX: x = (x - m)*c + m, m the per-sample mean.
func contrastONNX(l *lower.Lowerer, x, c string) string {
	m := l.ReduceMean(x, true, 1, 2, 3)
	return l.Add(l.Mul(l.Sub(x, m), c), m)
}

// shiftONNX gathers every output pixel from its source index (HW: an
// appended zero), per sample, for all channels.
func shiftONNX(l *lower.Lowerer, x, idx string, b, S int) string {
	hw := S * S
	flat := l.Reshape(x, []int{b, 3, hw})
	ext := l.G.Op("Concat", []string{flat, l.Zeros([]int{b, 3, 1})}, onnx.AttrInt("axis", 2))
	ii := l.G.Op("Cast", []string{idx}, onnx.AttrInt("to", int64(onnx.TensorProto_INT64)))
	g := l.G.Op("GatherElements", []string{ext, l.Expand(ii, []int{b, 3, hw})}, onnx.AttrInt("axis", 2))
	return l.Reshape(g, []int{b, 3, S, S})
}

// alignSteps returns p's steps aligned with the policy's operations (nil
// where a step was not drawn, as cutout and erase may not be).
func alignSteps(p *augment.Params, ops []augment.Op) []augment.Step {
	out := make([]augment.Step, len(ops))
	if p == nil {
		return out
	}
	k := 0
	for i, op := range ops {
		if k >= len(p.Steps) {
			break
		}
		if s := p.Steps[k]; s.Operation() == op {
			out[i] = s
			k++
		}
	}
	return out
}

// shiftIndex is, per sample and output pixel, the source pixel of a shift
// by sign*(DY, DX) (the transpose shifts back), or S*S outside the image.
func shiftIndex(tr *augment.Translation, b, S, sign int) []float32 {
	out := make([]float32, b*S*S)
	for s := 0; s < b; s++ {
		dy, dx := 0, 0
		if tr != nil {
			dy, dx = sign*tr.DY[s], sign*tr.DX[s]
		}
		for y := 0; y < S; y++ {
			for x := 0; x < S; x++ {
				sy, sx := y+dy, x+dx
				v := S * S
				if sy >= 0 && sy < S && sx >= 0 && sx < S {
					v = sy*S + sx
				}
				out[(s*S+y)*S+x] = float32(v)
			}
		}
	}
	return out
}

// cutoutMask is 0 inside each sample's cut rectangle, 1 elsewhere.
func cutoutMask(co *augment.Cutout, b, S int) []float32 {
	out := make([]float32, b*S*S)
	for i := range out {
		out[i] = 1
	}
	if co == nil {
		return out
	}
	for s := 0; s < b; s++ {
		y0, y1, x0, x1 := co.Rect(s, S, S)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				out[(s*S+y)*S+x] = 0
			}
		}
	}
	return out
}

// hueMatrices is every sample's hue rotation [B,3,3] (its transpose when
// trans; the identity without a step).
func hueMatrices(h *augment.Hue, b int, trans bool) []float32 {
	out := make([]float32, 0, b*9)
	for s := 0; s < b; s++ {
		m := [9]float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
		if h != nil {
			m = h.Matrix(s)
		}
		if trans {
			m = [9]float32{m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]}
		}
		out = append(out, m[:]...)
	}
	return out
}

// filterMatrices is every sample's filter along one axis as an S x S
// matrix A [B,1,S,S]: A[i][j] sums the kernel taps t whose reflected source
// Reflect(i+t-21) is j (its transpose when trans; the identity without a
// step).
func filterMatrices(f *augment.Filter, b, S int, trans bool) []float32 {
	out := make([]float32, b*S*S)
	for s := 0; s < b; s++ {
		a := out[s*S*S : (s+1)*S*S]
		if f == nil {
			for i := 0; i < S; i++ {
				a[i*S+i] = 1
			}
			continue
		}
		for t, k := range f.Kernel(s) {
			for i := 0; i < S; i++ {
				j := augment.Reflect(i+t-augment.FilterPad, S)
				if trans {
					a[j*S+i] += k
				} else {
					a[i*S+j] += k
				}
			}
		}
	}
	return out
}
