package model

import (
	"errors"
	"fmt"
	"strings"
)

// Validate reports every problem of the config at once, one per line, so a
// user fixing a YAML file sees them all.
func (c *Config) Validate() error {
	var p []string
	add := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }

	switch c.Version {
	case V1, Final:
	default:
		add("version %q: want %q or %q", c.Version, V1, Final)
	}
	if c.LatentDim <= 0 {
		add("latent_dim %d: must be positive", c.LatentDim)
	}
	if c.BottomWidth <= 0 {
		add("bottom_width %d: must be positive", c.BottomWidth)
	}
	if c.MLPRatio <= 0 {
		add("mlp_ratio %d: must be positive", c.MLPRatio)
	}
	if c.validateLimits(add) {
		return errors.New("invalid model config:\n  " + strings.Join(p, "\n  "))
	}
	c.validateGStages(add)
	c.validateGArch(add)
	c.validateD(add)
	for i, st := range c.MaskSchedule {
		if st.Window <= 0 || (i > 0 && st.UntilEpoch <= c.MaskSchedule[i-1].UntilEpoch) {
			add("mask_schedule[%d]: windows must be positive and epochs increasing", i)
		}
	}
	if len(p) == 0 {
		return nil
	}
	return errors.New("invalid model config:\n  " + strings.Join(p, "\n  "))
}

func (c *Config) validateGStages(add func(string, ...any)) {
	if len(c.GDepths) == 0 {
		add("g_depths: need at least one stage")
		return
	}
	for s, d := range c.GDepths {
		if d < 0 {
			add("g_depths[%d] = %d: must not be negative", s, d)
		}
	}
	if c.GHeads <= 0 {
		add("g_heads %d: must be positive", c.GHeads)
		return
	}
	if c.GDim <= 0 {
		add("g_dim %d: must be positive", c.GDim)
		return
	}
	for s := range c.GDepths {
		// Each pixel-shuffle upsampling divides the width by 4.
		if f := 1 << (2 * max(0, s-c.BicubicStages())); c.GDim%f != 0 {
			add("g_dim %d: stage %d needs it divisible by %d (4 per pixel-shuffle upsampling)", c.GDim, s+1, f)
			return
		}
		if d := c.StageDim(s); d%c.GHeads != 0 {
			add("g_dim %d: stage %d width %d is not divisible by g_heads %d", c.GDim, s+1, d, c.GHeads)
		}
	}
	if c.BottomWidth > 0 && c.ImageSize != c.StageWidth(len(c.GDepths)-1) {
		add("image_size %d: bottom_width %d with %d stages gives %d", c.ImageSize, c.BottomWidth,
			len(c.GDepths), c.StageWidth(len(c.GDepths)-1))
	}
}

// validateGArch checks the generator family and the fields only some
// families use.
func (c *Config) validateGArch(add func(string, ...any)) {
	switch c.GArch {
	case GDefault:
	case GCustom, GCeleba256, GChurch256:
		if c.Version != Final {
			add("g_arch %q: only with version %q", c.GArch, Final)
		}
	default:
		add("g_arch %q: want %q, %q, %q or empty", c.GArch, GCustom, GCeleba256, GChurch256)
	}
	for _, n := range []struct {
		field string
		v     Norm
	}{{"g_norm", c.GNorm}, {"d_norm", c.DNorm}} {
		if n.v != LayerNorm && n.v != PixelNorm {
			add("%s %q: want %q or empty (LayerNorm)", n.field, n.v, PixelNorm)
		}
	}
	if c.Version == V1 && (c.GNorm != LayerNorm || c.DNorm != LayerNorm) {
		add("g_norm/d_norm: the v1 code has LayerNorm only")
	}
	if c.GRelPos && c.GArch != GDefault {
		add("g_rel_pos: only for the default final generator (g_arch %q sets windows with g_windows)", c.GArch)
	}
	if c.BicubicStages() == 0 {
		if len(c.GWindows) > 0 {
			add("g_windows: only for g_arch %q or %q", GCeleba256, GChurch256)
		}
		return
	}
	if len(c.GDepths) != 6 {
		add("g_depths: g_arch %q has 6 stages, got %d", c.GArch, len(c.GDepths))
		return
	}
	if len(c.GWindows) != len(c.GDepths) {
		add("g_windows: need one window per stage (%d), got %d", len(c.GDepths), len(c.GWindows))
		return
	}
	for s, w := range c.GWindows {
		if w <= 0 || c.StageWidth(s)%w != 0 {
			add("g_windows[%d] = %d: must be positive and divide the stage side %d", s, w, c.StageWidth(s))
		}
	}
	if c.GArch == GCeleba256 && c.GDepths[0] != 0 {
		add("g_depths[0] = %d: Celeba256_gen has no first-stage blocks (want 0)", c.GDepths[0])
	}
}

func (c *Config) validateD(add func(string, ...any)) {
	if c.DDim <= 0 || c.DDepth < 0 || c.DPatch <= 0 || c.DHeads <= 0 {
		add("d_dim %d, d_depth %d, d_patch %d, d_heads %d: must be positive", c.DDim, c.DDepth, c.DPatch, c.DHeads)
		return
	}
	if c.ImageSize%c.DPatch != 0 {
		add("d_patch %d: does not divide image_size %d", c.DPatch, c.ImageSize)
	}
	switch c.DKind {
	case DViT:
		if c.DDim%c.DHeads != 0 {
			add("d_dim %d: not divisible by d_heads %d", c.DDim, c.DHeads)
		}
	case DScale2:
		if c.DDim%4 != 0 || c.DScale1Dim()%c.DHeads != 0 || c.DDim%c.DHeads != 0 {
			add("d_dim %d: scale2 D needs d_dim/4*3 and d_dim divisible by d_heads %d", c.DDim, c.DHeads)
		}
		if (c.ImageSize/c.DPatch)%2 != 0 {
			add("d_patch %d: image_size/d_patch must be even for the scale2 D", c.DPatch)
		}
	case DCeleba256, DScale3:
		c.validateD3(add)
	default:
		add("d_kind %q: want %q, %q, %q or %q", c.DKind, DViT, DScale2, DCeleba256, DScale3)
	}
	if c.DNoNoise && c.DKind != DScale2 {
		add("d_no_noise: only for d_kind %q", DScale2)
	}
	if c.DFilterBank && c.DKind != DCeleba256 {
		add("d_filter_bank: only for d_kind %q", DCeleba256)
	}
	if c.DWindow != 0 && c.DKind != DCeleba256 && c.DKind != DScale3 {
		add("d_window: only for d_kind %q or %q", DCeleba256, DScale3)
	}
}

// validateD3 checks a three-scale discriminator.
func (c *Config) validateD3(add func(string, ...any)) {
	if c.DDim%8 != 0 || c.DDepth < 1 {
		add("d_dim %d, d_depth %d: a three-scale D needs d_dim divisible by 8 and depth >= 1", c.DDim, c.DDepth)
		return
	}
	if (c.ImageSize/c.DPatch)%4 != 0 {
		add("d_patch %d: image_size/d_patch must be divisible by 4 for a three-scale D", c.DPatch)
		return
	}
	for i := 0; i < 3; i++ {
		if c.DScaleDim(i)%c.DHeads != 0 {
			add("d_dim %d: scale %d width %d is not divisible by d_heads %d", c.DDim, i+1, c.DScaleDim(i), c.DHeads)
		}
	}
	for g := 0; g < 2; g++ {
		if w := c.DGroupPartition(g); w != 0 && (w < 0 || c.DScaleSide(c.DGroupScale(g))%w != 0) {
			add("d_window %d: must divide the scale side %d", w, c.DScaleSide(c.DGroupScale(g)))
			return
		}
	}
	if c.DWindow <= 0 {
		add("d_window %d: a three-scale D needs a positive window", c.DWindow)
	}
	if want := c.DKind == DScale3; c.DRelPos != want {
		add("d_rel_pos %v: d_kind %q has it %v", c.DRelPos, c.DKind, want)
	}
	if c.DKind == DCeleba256 && c.DPatch%2 != 0 {
		add("d_patch %d: Celeba256_dis pads its first convolution by d_patch/2: must be even", c.DPatch)
	}
}

// Plausibility limits: far above every preset, low enough that a forged
// config (in a checkpoint, ONNX metadata or YAML) cannot make tgan build
// billions of parameters or overflow a shift.
const (
	maxStages = 8
	maxDepth  = 1024
	maxWidth  = 1 << 16 // latent_dim, g_dim, d_dim, heads, mlp_ratio
	maxSide   = 4096    // image_size, bottom_width, d_patch
)

// validateLimits reports sizes beyond the limits above; it returns true
// when one is found, since the other checks could then overflow.
func (c *Config) validateLimits(add func(string, ...any)) bool {
	bad := false
	check := func(name string, v, limit int) {
		if v > limit {
			add("%s %d: larger than the limit %d", name, v, limit)
			bad = true
		}
	}
	check("latent_dim", c.LatentDim, maxWidth)
	check("g_dim", c.GDim, maxWidth)
	check("g_heads", c.GHeads, maxWidth)
	check("mlp_ratio", c.MLPRatio, 64)
	check("bottom_width", c.BottomWidth, maxSide)
	check("image_size", c.ImageSize, maxSide)
	check("number of g_depths stages", len(c.GDepths), maxStages)
	for s, d := range c.GDepths {
		check(fmt.Sprintf("g_depths[%d]", s), d, maxDepth)
	}
	check("d_dim", c.DDim, maxWidth)
	check("d_depth", c.DDepth, maxDepth)
	check("d_patch", c.DPatch, maxSide)
	check("d_heads", c.DHeads, maxWidth)
	check("mask_schedule entries", len(c.MaskSchedule), 1024)
	return bad
}
