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
		if c.GDim%(1<<(2*s)) != 0 {
			add("g_dim %d: stage %d needs it divisible by %d (4 per upsampling)", c.GDim, s+1, 1<<(2*s))
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
	default:
		add("d_kind %q: want %q or %q", c.DKind, DViT, DScale2)
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
