package augment

import (
	"fmt"
	"math/rand"
)

// Params holds every random number of one DiffAugment call on a [B, C, H, W]
// batch. With Params fixed, the augmentation is an affine map of the batch.
type Params struct {
	B, C, H, W int
	// Steps run in order.
	Steps []Step
}

// Step is one sampled operation: *Color, *Translation, *Cutout (also the
// erase variants), *Hue or *Filter.
type Step interface {
	// Operation is the policy operation that drew the step.
	Operation() Op
	// apply transforms one sample's CHW data in place; linear skips any
	// additive constant. scratch has len(x).
	apply(x, scratch []float32, b, c, h, w int, linear bool)
	// transpose applies the vector-Jacobian product in place.
	transpose(g, scratch []float32, b, c, h, w int)
}

// Sample draws the parameters of one DiffAugment call from rng, in the
// order the policy names its operations. It never returns nil.
func Sample(p Policy, b, c, h, w int, rng *rand.Rand) *Params {
	ps := &Params{B: b, C: c, H: h, W: w}
	for _, op := range p.Ops {
		switch op {
		case OpColor:
			ps.Steps = append(ps.Steps, sampleColor(b, rng))
		case OpTranslation:
			ps.Steps = append(ps.Steps, sampleTranslation(b, h, w, orDefault(p.TranslationRatio, DefaultTranslationRatio), rng))
		case OpCutout:
			prob := orDefault(p.CutoutProb, DefaultCutoutProb)
			ratio := orDefault(p.CutoutRatio, DefaultCutoutRatio)
			if rng.Float64() < prob {
				ps.Steps = append(ps.Steps, sampleCutout(b, h, w, ratio, rng))
			}
		case OpEraseRatio, OpSTLEraseRatio, OpErase:
			if s := sampleErase(op, b, h, w, rng); s != nil {
				ps.Steps = append(ps.Steps, s)
			}
		case OpHue:
			ps.Steps = append(ps.Steps, sampleHue(b, rng))
		case OpFilter:
			ps.Steps = append(ps.Steps, sampleFilter(b, rng))
		}
	}
	return ps
}

// Apply returns the augmented copy of the NCHW batch x. A nil or empty
// Params copies x. It panics if len(x) != B*C*H*W.
func Apply(p *Params, x []float32) []float32 {
	return p.run(x, false)
}

// ApplyLinear is Apply without additive constants (the brightness shift):
// ApplyLinear(v) = Apply(v) - Apply(0). It is the Jacobian of Apply, and the
// transpose of ApplyTranspose.
func ApplyLinear(p *Params, x []float32) []float32 {
	return p.run(x, true)
}

// ApplyTranspose returns the vector-Jacobian product of Apply: given the
// gradient g of a loss with respect to Apply's output, the gradient with
// respect to its input. For all g, v:
// <ApplyTranspose(g), v> == <g, ApplyLinear(v)>.
func ApplyTranspose(p *Params, g []float32) []float32 {
	out := p.copyChecked(g)
	if p == nil {
		return out
	}
	n := p.C * p.H * p.W
	scratch := make([]float32, n)
	for i := len(p.Steps) - 1; i >= 0; i-- {
		for b := 0; b < p.B; b++ {
			p.Steps[i].transpose(out[b*n:(b+1)*n], scratch, b, p.C, p.H, p.W)
		}
	}
	return out
}

// run applies the steps in order to a copy of x.
func (p *Params) run(x []float32, linear bool) []float32 {
	out := p.copyChecked(x)
	if p == nil {
		return out
	}
	n := p.C * p.H * p.W
	scratch := make([]float32, n)
	for _, s := range p.Steps {
		for b := 0; b < p.B; b++ {
			s.apply(out[b*n:(b+1)*n], scratch, b, p.C, p.H, p.W, linear)
		}
	}
	return out
}

// copyChecked copies x after checking its length against the shape.
func (p *Params) copyChecked(x []float32) []float32 {
	if p != nil && len(x) != p.B*p.C*p.H*p.W {
		panic(fmt.Sprintf("augment: %d values for shape [%d %d %d %d]", len(x), p.B, p.C, p.H, p.W))
	}
	return append([]float32(nil), x...)
}
