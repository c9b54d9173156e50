package augment

import (
	"fmt"
	"slices"
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
	// OpEraseRatio is TransGAN's cutout with a random rectangle size per
	// call, 20-70% of each side (CelebA-HQ and Church 256 policies).
	OpEraseRatio Op = "erase_ratio"
	// OpSTLEraseRatio is TransGAN's cutout with a random rectangle of 20 to
	// side/2+20 pixels per call (STL-10 policy).
	OpSTLEraseRatio Op = "stl_erase_ratio"
	// OpErase is the official "erase" op, the same as OpSTLEraseRatio.
	OpErase Op = "erase"
	// OpHue rotates each pixel's RGB vector about the grey axis (ADA hue).
	OpHue Op = "hue"
	// OpFilter is ADA's image-space filtering with random per-band gains.
	OpFilter Op = "filter"
)

// Ops lists every operation ParsePolicy accepts, in the order the usage
// line names them.
func Ops() []Op {
	return []Op{OpTranslation, OpCutout, OpColor, OpEraseRatio, OpSTLEraseRatio, OpErase, OpHue, OpFilter}
}

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
// "translation,cutout,color" or the official CelebA-HQ policy
// "filter,translation,erase_ratio,color,hue". "", "none" and "None" give the
// empty policy. Ratios and probability keep their defaults.
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "none") {
		return Policy{}, nil
	}
	var p Policy
	for _, name := range strings.Split(s, ",") {
		op := Op(strings.TrimSpace(name))
		if !slices.Contains(Ops(), op) {
			return Policy{}, fmt.Errorf("augment: unknown operation %q in policy %q (known: %s)", name, s, knownOps())
		}
		p.Ops = append(p.Ops, op)
	}
	return p, nil
}

// Check reports whether the policy can augment h x w images: filter
// reflects FilterPad (21) pixels on every side, so it needs both sides
// above 21, as PyTorch's reflection padding does.
func (p Policy) Check(h, w int) error {
	if slices.Contains(p.Ops, OpFilter) && (h <= FilterPad || w <= FilterPad) {
		return fmt.Errorf("augment: policy %q: filter needs images larger than %dx%d (it reflects %d pixels on every side), got %dx%d", p, FilterPad, FilterPad, FilterPad, h, w)
	}
	return nil
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

// knownOps is Ops as a comma-separated list.
func knownOps() string {
	names := make([]string, 0, len(Ops()))
	for _, op := range Ops() {
		names = append(names, string(op))
	}
	return strings.Join(names, ", ")
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
