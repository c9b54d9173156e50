package pth

import (
	"fmt"
	"strings"

	"github.com/tgan-dev/tgan/model"
)

// The zoo's final-code families differ from ViT_custom_rp /
// ViT_custom_scale2_rp_noise in ways the tensors show:
//
//   - ViT_custom G: attn.noise_strength_1 and no relative-position tables;
//   - PixelNorm (G or D): no norm tensors at all. One missing norm key in a
//     LayerNorm file is a broken file (Check names it), not PixelNorm;
//   - Celeba256_gen: stages blocks_2..blocks_6 (no blocks_1),
//     embedding_transform, embed_pos and cross_attention.*;
//   - ViT_custom_local544444_256_rp_noise: blocks_1..blocks_6, no
//     cross-attention; both 256 generators' windows are read from the
//     tables ((2w-1)^2 rows);
//   - ViT_custom_scale2 D: no noise_strength_1;
//   - Celeba256_dis: fRGB_3 and blocks_21, no tables, an overlapping first
//     kernel 2p, Hz_fbank when the policy filters;
//   - ViT_scale3_local_new_rp: fRGB_3 and blocks_11.

// celebaDWindow is d_window_size of exps/celeba_hq_256_train.py. Celeba256_dis
// has no relative-position tables, so nothing in its state_dict tells the
// window it partitions the first two scales with: tgan takes the official
// script's value.
const celebaDWindow = 4

// has256Stages reports the stage names of the two 256 generators.
func has256Stages(g map[string]*model.Tensor) bool {
	for s := 1; s <= 6; s++ {
		if hasPrefix(g, fmt.Sprintf("blocks_%d.block.", s)) {
			return true
		}
	}
	return false
}

// inferGFamily reads the final-code generator family, its norm and, for the
// 256 generators, the per-stage windows.
func inferGFamily(g map[string]*model.Tensor, c *model.Config) error {
	blocks := 0
	for _, d := range c.GDepths {
		blocks += d
	}
	if !hasNormKeys(g) && (blocks > 0 || c.BicubicStages() > 0) {
		c.GNorm = model.PixelNorm
	}
	if c.BicubicStages() == 0 {
		if !c.GRelPos && hasSuffix(g, "attn.noise_strength_1") {
			c.GArch = model.GCustom
		}
		return nil
	}
	c.GRelPos = false // the 256 generators' tables are per-stage windows
	c.GWindows = make([]int, len(c.GDepths))
	for s, d := range c.GDepths {
		if d == 0 { // no blocks (Celeba256_gen's first stage): global
			c.GWindows[s] = c.StageWidth(s)
			continue
		}
		name := gStagePrefix(c, s) + "0.attn.relative_position_bias_table"
		w, err := tableWindow(g, name)
		if err != nil {
			return err
		}
		if side := c.StageWidth(s); side%w != 0 {
			return fmt.Errorf("tensor %q has shape %v: window side %d does not divide the stage side %d (a global window has [%d, heads])",
				name, g[name].Shape, w, side, (2*side-1)*(2*side-1))
		}
		c.GWindows[s] = w
	}
	return nil
}

// tableWindow returns the window side w of the relative-position table
// name, which has (2w-1)^2 rows.
func tableWindow(w map[string]*model.Tensor, name string) (int, error) {
	t, ok := w[name]
	if !ok {
		return 0, fmt.Errorf("missing tensor %q (its window side cannot be told otherwise)", name)
	}
	if len(t.Shape) == 2 && t.Shape[0] > 0 {
		side := (isqrt(t.Shape[0]) + 1) / 2
		if (2*side-1)*(2*side-1) == t.Shape[0] {
			return side, nil
		}
	}
	return 0, fmt.Errorf("tensor %q has shape %v, want [(2w-1)^2, heads] for a window side w", name, t.Shape)
}

// inferD3 fills a three-scale discriminator: Celeba256_dis (blocks_21) or
// ViT_scale3_local_new_rp (blocks_11).
func inferD3(d map[string]*model.Tensor, c *model.Config, rgb1, head *model.Tensor, opts Options) error {
	k := rgb1.Shape[2]
	if rgb1.Shape[3] != k || k <= 0 {
		return fmt.Errorf("tensor %q has shape %v, want a square kernel", model.DRGB1W, rgb1.Shape)
	}
	c.DDim = head.Shape[1]
	switch {
	case hasPrefix(d, "blocks_21."):
		c.DKind = model.DCeleba256
		if k%2 != 0 {
			return fmt.Errorf("tensor %q has shape %v: Celeba256_dis's first kernel is 2*d_patch, want an even side", model.DRGB1W, rgb1.Shape)
		}
		c.DPatch, c.DDepth, c.DWindow = k/2, countIndices(d, "blocks_1."), celebaDWindow
		_, c.DFilterBank = d[model.DFilterBankName]
	case hasPrefix(d, "blocks_11."):
		c.DKind, c.DPatch, c.DDepth = model.DScale3, k, countIndices(d, "blocks_2.")
		c.DWindow = c.DScaleSide(0) // d_depth 1 has no windowed block: one window is the identity
		if c.DDepth > 1 {
			w, err := tableWindow(d, "blocks_1.0.attn.relative_position_bias_table")
			if err != nil {
				return err
			}
			c.DWindow = w
		}
	default:
		return fmt.Errorf("%s without blocks_21 (Celeba256_dis) or blocks_11 (ViT_scale3_local_new_rp): unknown discriminator", model.DRGB3W)
	}
	var err error
	c.DHeads, c.DRelPos, err = headsFromTables(d, "blocks_", opts.DHeads)
	return err
}

// hasNormKeys reports whether w has any LayerNorm tensor: a block's norm1
// or norm2, or a discriminator's final norm.
func hasNormKeys(w map[string]*model.Tensor) bool {
	for k := range w {
		if strings.Contains(k, ".norm1.") || strings.Contains(k, ".norm2.") || strings.HasPrefix(k, "norm.") {
			return true
		}
	}
	return false
}

func hasSuffix(w map[string]*model.Tensor, suffix string) bool {
	for k := range w {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}
