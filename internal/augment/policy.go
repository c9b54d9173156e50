package augment

import (
	"fmt"
	"strings"
)

// Op is one DiffAugment operation.
type Op string

const (
	// OpColor adds a per-sample brightness, then scales saturation and contrast.
	OpColor Op = "color"
	// OpTranslation shifts each sample by whole pixels with zero fill.
	OpTranslation Op = "translation"
	// OpCutout zeroes a square per sample (for the whole batch, with a probability).
	OpCutout Op = "cutout"
)

// TransGAN's defaults (models_search/diff_aug.py of the official code).
const (
	DefaultTranslationRatio = 0.2
	DefaultCutoutRatio      = 0.5
	DefaultCutoutProb       = 0.3
)

// Policy is a parsed DiffAugment policy. The zero value augments nothing.
type Policy struct {
	// Ops run in this order.
	Ops []Op
	// TranslationRatio bounds the shift: up to round(ratio*size) pixels
	// each way; 0 means DefaultTranslationRatio (0.2).
	TranslationRatio float64
	// CutoutRatio is the side of the cutout square relative to the image,
	// rounded to pixels; 0 means DefaultCutoutRatio (0.5).
	CutoutRatio float64
	// CutoutProb is the probability that a batch gets cutout at all; 0 means
	// DefaultCutoutProb (0.3). Use 1 for always.
	CutoutProb float64
}

// ParsePolicy parses a comma-separated list such as
// "translation,cutout,color". "", "none" and "None" give the empty policy.
// Ratios and probability keep their defaults.
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return Policy{}, nil
	}
	var p Policy
	for _, name := range strings.Split(s, ",") {
		op := Op(strings.TrimSpace(name))
		switch op {
		case OpColor, OpTranslation, OpCutout:
			p.Ops = append(p.Ops, op)
		default:
			return Policy{}, fmt.Errorf("augment: unknown operation %q in policy %q (want color, translation, cutout)", name, s)
		}
	}
	return p, nil
}

// String returns the policy in ParsePolicy's syntax ("None" when empty).
func (p Policy) String() string {
	if len(p.Ops) == 0 {
		return "None"
	}
	names := make([]string, len(p.Ops))
	for i, op := range p.Ops {
		names[i] = string(op)
	}
	return strings.Join(names, ",")
}

// orDefault returns v, or def when v is zero.
func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// pixels is int(size*ratio + 0.5), the official rounding of a ratio to pixels.
func pixels(size int, ratio float64) int {
	return int(float64(size)*ratio + 0.5)
}
