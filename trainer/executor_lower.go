package trainer

import (
	"fmt"

	"github.com/tgan-dev/tgan/internal/augment"
	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/onnx"
	G "gorgonia.org/gorgonia"
)

// lowering lowers the trainer's own ops for one graph: the loss ops
// (extLoss and its extGrad), the G step's call into D (inlined: DiffAugment,
// D, the G loss and the augmentation's transpose in the same model), and the
// augmentation op of the penalty, whose sampled parameters become inputs.
type lowering struct {
	t     *Trainer
	st    *ortState
	exec  *ortExecutor
	augIn map[*augSlot]augInputs
}

func (lw *lowering) ext(l *lower.Lowerer, n *G.Node, ins []string) (string, bool, error) {
	switch op := n.Op().(type) {
	case *extLoss:
		v, err := lw.loss(l, n, op, ins[0])
		return v, true, err
	case *extGrad:
		seed, ok := lw.st.seeds[op.loss]
		if !ok {
			return "", true, fmt.Errorf("lower: %s before its loss", op)
		}
		return l.Mul(seed, ins[1]), true, nil
	case *augOp:
		s := op.in
		x := ins[0]
		if len(s) != 4 {
			x = l.Reshape(x, op.out)
		}
		mode := augLinear
		if op.transpose {
			mode = augTransposed
		}
		return l.Reshape(lw.augment(l, x, op.slot, mode), op.out), true, nil
	}
	return "", false, nil
}

// loss lowers a loss op: its value and, for its extGrad, the gradient seed
// with respect to its input x. The Go loss function still records the
// statistics: it runs after the graph on the logits, which become an output.
func (lw *lowering) loss(l *lower.Lowerer, n *G.Node, op *extLoss, x string) (string, error) {
	t := lw.t
	var loss, seed string
	switch op.id {
	case "tganDLoss":
		loss, seed = dLossONNX(l, t.Opts.Loss, t.Opts.DriftGroup, x, op.shape.TotalSize()/2)
	case "tganGLoss":
		loss, seed = gLossONNX(l, t.Opts.Loss, x, op.shape.TotalSize())
	case "tganGThroughD":
		return lw.throughD(l, op, x)
	default:
		return "", fmt.Errorf("lower: no ONNX lowering for loss op %s", op.id)
	}
	lw.st.seeds[op] = seed
	name := "logits/" + op.id
	l.OutputValue(x, name, op.shape)
	i := len(l.Outputs()) - 1
	f := op.f
	lw.exec.after = append(lw.exec.after, func(outs [][]float32) error {
		_, _, err := f(outs[i])
		return err
	})
	return loss, nil
}

// throughD inlines the G step's D graph: D scores Aug(x), and the seed of
// G's backward pass is Aug^T of D's input gradient.
func (lw *lowering) throughD(l *lower.Lowerer, op *extLoss, x string) (string, error) {
	t := lw.t
	dg := t.dGen
	S := t.Config.ImageSize
	img := l.Reshape(x, []int{t.Opts.GenBatch, 3, S, S})
	l.Prefix(dg.net.Graph, "d/")
	l.Bind(dg.net.Input, lw.augment(l, img, lw.st.gSlot, augApply))
	loss, err := l.Lower(dg.cost)
	if err != nil {
		return "", err
	}
	ig, err := l.Lower(dg.inGrad)
	if err != nil {
		return "", err
	}
	if err := lowerLeak(l, dg); err != nil {
		return "", err
	}
	lw.st.seeds[op] = l.Reshape(lw.augment(l, ig, lw.st.gSlot, augTransposed), op.shape)
	return loss, nil
}

// dLossONNX is dLoss on logits x = [real; fake] (b each): the loss and its
// gradient with respect to x.
func dLossONNX(l *lower.Lowerer, kind string, group int, x string, b int) (loss, seed string) {
	r := l.G.Op("Slice", []string{x, l.G.Int64s(0), l.G.Int64s(int64(b)), l.G.Int64s(0)})
	f := l.G.Op("Slice", []string{x, l.G.Int64s(int64(b)), l.G.Int64s(int64(2 * b)), l.G.Int64s(0)})
	inv := l.Float(float32(1 / float64(b)))
	mean := func(v string) string { return l.ReduceMean(v, false, 0, 1) }
	var sr, sf string
	switch kind {
	case LossHinge: // mean relu(1-r) + mean relu(1+f)
		one := l.Float(1)
		vr, vf := l.Sub(one, r), l.Add(one, f)
		loss = l.Add(mean(l.G.Op("Relu", []string{vr})), mean(l.G.Op("Relu", []string{vf})))
		sr = l.Mul(l.Float(float32(-1/float64(b))), positive(l, vr))
		sf = l.Mul(inv, positive(l, vf))
	case LossStandard:
		loss = l.Add(mean(softplusONNX(l, l.G.Op("Neg", []string{r}))), mean(softplusONNX(l, f)))
		sr = l.Mul(l.Sub(l.G.Op("Sigmoid", []string{r}), l.Float(1)), inv)
		sf = l.Mul(l.G.Op("Sigmoid", []string{f}), inv)
	case LossLSGAN:
		d := l.Sub(r, l.Float(1))
		loss = l.Add(mean(l.Mul(d, d)), mean(l.Mul(f, f)))
		sr = l.Mul(d, l.Float(float32(2/float64(b))))
		sf = l.Mul(f, l.Float(float32(2/float64(b))))
	default: // wgangp(-eps): -mean r + mean f (+ 1e-3 mean(r)^2)
		mr := mean(r)
		loss = l.Sub(mean(f), mr)
		c := l.Float(float32(-1 / float64(b)))
		if kind == LossWGANGPEps && group > 0 && group < b {
			var drift string
			drift, sr = driftGroupsONNX(l, r, group, b)
			loss = l.Add(loss, drift)
		} else if kind == LossWGANGPEps {
			loss = l.Add(loss, l.Mul(l.Float(1e-3), l.Mul(mr, mr)))
			c = l.Add(c, l.Mul(mr, l.Float(float32(2e-3/float64(b)))))
		}
		if sr == "" {
			sr = l.Expand(c, []int{b, 1})
		}
		sf = l.Expand(inv, []int{b, 1})
	}
	return loss, l.G.Op("Concat", []string{sr, sf}, onnx.AttrInt("axis", 0))
}

// driftGroupsONNX is driftGroups on the real logits r [b, 1] in groups of
// g: the drift term and the seed of r (the -1/b of -mean r included).
func driftGroupsONNX(l *lower.Lowerer, r string, g, b int) (drift, seed string) {
	k := b / g
	m := l.ReduceMean(l.Reshape(r, []int{k, g}), true, 1) // [k, 1] group means
	drift = l.Mul(l.Float(1e-3), l.ReduceMean(l.Mul(m, m), false, 0, 1))
	c := l.Add(l.Float(float32(-1/float64(b))), l.Mul(m, l.Float(float32(2e-3/float64(b)))))
	return drift, l.Reshape(l.Expand(c, []int{k, g}), []int{b, 1})
}

// gLossONNX is gLoss on fake logits x (n of them).
func gLossONNX(l *lower.Lowerer, kind, x string, n int) (loss, seed string) {
	inv := l.Float(float32(1 / float64(n)))
	mean := l.ReduceMean(x, false, 0, 1)
	switch kind {
	case LossStandard:
		loss = l.ReduceMean(softplusONNX(l, l.G.Op("Neg", []string{x})), false, 0, 1)
		seed = l.Mul(l.Sub(l.G.Op("Sigmoid", []string{x}), l.Float(1)), inv)
	case LossLSGAN:
		d := l.Sub(x, l.Float(1))
		loss = l.ReduceMean(l.Mul(d, d), false, 0, 1)
		seed = l.Mul(d, l.Float(float32(2/float64(n))))
	default:
		loss = l.G.Op("Neg", []string{mean})
		seed = l.Expand(l.Float(float32(-1/float64(n))), []int{n, 1})
	}
	return loss, seed
}

// positive is 1 where v > 0, else 0.
func positive(l *lower.Lowerer, v string) string {
	gt := l.G.Op("Greater", []string{v, l.Float(0)})
	return l.G.Op("Cast", []string{gt}, onnx.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
}

func softplusONNX(l *lower.Lowerer, v string) string { return l.G.Op("Softplus", []string{v}) }

// Directions of the lowered DiffAugment.
const (
	augApply      = iota // Apply: the augmentation, brightness included
	augLinear            // ApplyLinear: without the additive brightness
	augTransposed        // ApplyTranspose: the vector-Jacobian product
)

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

// inputsFor declares (once per slot) the inputs of the slot's parameters.
// Every input is filled from the slot's current Params, so the lowered
// augmentation sees exactly the draws of the Go one.
func (lw *lowering) inputsFor(l *lower.Lowerer, slot *augSlot, b int) augInputs {
	if in, ok := lw.augIn[slot]; ok {
		return in
	}
	S := lw.t.Config.ImageSize
	pfx := fmt.Sprintf("aug%d/", len(lw.augIn))
	in := augInputs{b: b, mask: map[int]string{}, hue: map[int]string{}, hueT: map[int]string{}, filt: map[int]string{}, filtT: map[int]string{}}
	steps := func() []augment.Step { return alignSteps(slot.p, lw.t.policy.Ops) }
	name := func(i int, op augment.Op) string { // policy index keeps repeated ops apart
		if i == 0 || op == augment.OpCutout {
			return pfx + string(op)
		}
		return fmt.Sprintf("%s%s%d", pfx, op, i)
	}
	for i, op := range lw.t.policy.Ops {
		switch op {
		case augment.OpColor:
			col := func(pick func(c *augment.Color) []float32, def float32) func() []float32 {
				return func() []float32 {
					out := make([]float32, b)
					c, _ := steps()[i].(*augment.Color)
					for j := range out {
						out[j] = def
						if c != nil {
							out[j] = pick(c)[j]
						}
					}
					return out
				}
			}
			shape := []int{b, 1, 1, 1}
			in.bright = l.AddExtra(pfx+"brightness", shape, col(func(c *augment.Color) []float32 { return c.Brightness }, 0))
			in.sat = l.AddExtra(pfx+"saturation", shape, col(func(c *augment.Color) []float32 { return c.Saturation }, 1))
			in.contrast = l.AddExtra(pfx+"contrast", shape, col(func(c *augment.Color) []float32 { return c.Contrast }, 1))
		case augment.OpTranslation:
			shift := func(sign int) func() []float32 {
				return func() []float32 {
					tr, _ := steps()[i].(*augment.Translation)
					return shiftIndex(tr, b, S, sign)
				}
			}
			in.shiftFwd = l.AddExtra(pfx+"shift", []int{b, 1, S * S}, shift(1))
			in.shiftBack = l.AddExtra(pfx+"shift_back", []int{b, 1, S * S}, shift(-1))
		case augment.OpCutout, augment.OpEraseRatio, augment.OpSTLEraseRatio, augment.OpErase:
			in.mask[i] = l.AddExtra(name(i, op), []int{b, 1, S, S}, func() []float32 {
				co, _ := steps()[i].(*augment.Cutout)
				return cutoutMask(co, b, S)
			})
		case augment.OpHue:
			rot := func(trans bool) func() []float32 {
				return func() []float32 {
					h, _ := steps()[i].(*augment.Hue)
					return hueMatrices(h, b, trans)
				}
			}
			in.hue[i] = l.AddExtra(name(i, op), []int{b, 3, 3}, rot(false))
			in.hueT[i] = l.AddExtra(name(i, op)+"_t", []int{b, 3, 3}, rot(true))
		case augment.OpFilter:
			mat := func(trans bool) func() []float32 {
				return func() []float32 {
					f, _ := steps()[i].(*augment.Filter)
					return filterMatrices(f, b, S, trans)
				}
			}
			in.filt[i] = l.AddExtra(name(i, op), []int{b, 1, S, S}, mat(false))
			in.filtT[i] = l.AddExtra(name(i, op)+"_t", []int{b, 1, S, S}, mat(true))
		}
	}
	lw.augIn[slot] = in
	return in
}

// augment lowers DiffAugment with slot's parameters on x [B, 3, S, S].
func (lw *lowering) augment(l *lower.Lowerer, x string, slot *augSlot, mode int) string {
	ops := lw.t.policy.Ops
	if len(ops) == 0 {
		return x
	}
	S := lw.t.Config.ImageSize
	b := lw.t.Opts.GenBatch
	if slot != lw.st.gSlot {
		b = lw.t.Opts.DisBatch
	}
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
