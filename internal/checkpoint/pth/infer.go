package pth

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/model"
)

// defaultHeads is the head count of every released TransGAN config.
const defaultHeads = 4

// inferG reads the generator architecture from a state_dict (no "module."
// prefix): latent size, width, bottom width, stages, depths, heads, MLP
// ratio, relative position bias and, for v1, the mask schedule.
func inferG(g map[string]*model.Tensor, opts Options) (*model.Config, error) {
	l1, ok := g[model.GL1W]
	if !ok || len(l1.Shape) != 2 {
		return nil, fmt.Errorf("no %s [bw*bw*C, latent]: not a TransGAN generator", model.GL1W)
	}
	pe, ok := g[model.GPosEmbed(0)]
	if !ok || len(pe.Shape) != 3 || pe.Shape[0] != 1 {
		return nil, fmt.Errorf("no %s [1, bw*bw, C]: not a TransGAN generator", model.GPosEmbed(0))
	}
	bw := isqrt(pe.Shape[1])
	if bw*bw != pe.Shape[1] {
		return nil, fmt.Errorf("%s has %d tokens, not a square feature map", model.GPosEmbed(0), pe.Shape[1])
	}
	c := &model.Config{LatentDim: l1.Shape[1], GDim: pe.Shape[2], BottomWidth: bw, MLPRatio: 4}
	for s := 0; ; s++ {
		if _, ok := g[model.GPosEmbed(s)]; !ok {
			break
		}
		c.GDepths = append(c.GDepths, 0)
	}
	switch {
	case has256Stages(g):
		c.Version, c.GArch = model.Final, model.GChurch256
		if _, ok := g[model.GEmbedW]; ok {
			c.GArch = model.GCeleba256
		}
	case hasPrefix(g, "blocks.block."), hasPrefix(g, "upsample_blocks.0.block."):
		c.Version = model.Final
	case hasPrefix(g, "blocks.0."), hasPrefix(g, "upsample_blocks.0.0."), hasPrefix(g, "to_rgb."):
		c.Version = model.V1
	default:
		return nil, errors.New("cannot tell the code version: no blocks.block.N (final), blocks_N.block.N (256 models) or blocks.N (v1) keys")
	}
	for s := range c.GDepths {
		c.GDepths[s] = countIndices(g, gStagePrefix(c, s))
	}
	c.ImageSize = bw << (len(c.GDepths) - 1)
	heads, relPos, err := headsFromTables(g, "", opts.GHeads)
	if err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	c.GHeads, c.GRelPos = heads, relPos
	if c.Version == model.Final {
		if err := inferGFamily(g, c); err != nil {
			return nil, fmt.Errorf("generator: %w", err)
		}
	}
	if r, ok := mlpRatio(g, c); ok {
		c.MLPRatio = r
	}
	if c.Version == model.V1 {
		c.MaskSchedule = model.V1MaskSchedule()
		if len(c.GDepths) == 4 {
			c.MaskSchedule = model.V1CelebAMaskSchedule()
		}
	}
	return c, nil
}

// gStagePrefix is the key prefix before the block index of stage s.
func gStagePrefix(c *model.Config, s int) string {
	switch v := c.Version; {
	case c.BicubicStages() > 0:
		return fmt.Sprintf("blocks_%d.block.", s+1)
	case v == model.V1 && s == 0:
		return "blocks."
	case v == model.V1:
		return fmt.Sprintf("upsample_blocks.%d.", s-1)
	case s == 0:
		return "blocks.block."
	}
	return fmt.Sprintf("upsample_blocks.%d.block.", s-1)
}

// mlpRatio reads fc1's rows / width from the first block found.
func mlpRatio(g map[string]*model.Tensor, c *model.Config) (int, bool) {
	for s, d := range c.GDepths {
		if d == 0 {
			continue
		}
		fc1, ok := g[gStagePrefix(c, s)+"0.mlp.fc1.weight"]
		dim := c.StageDim(s)
		if ok && len(fc1.Shape) == 2 && dim > 0 && fc1.Shape[0]%dim == 0 {
			return fc1.Shape[0] / dim, true
		}
		return 0, false
	}
	return 0, false
}

// headsFromTables returns the head count from the relative position bias
// tables under prefix (their second dimension) and whether there are any;
// without tables it returns override, or 4. A conflicting override is an error.
func headsFromTables(w map[string]*model.Tensor, prefix string, override int) (int, bool, error) {
	heads := 0
	for k, t := range w {
		if !strings.HasPrefix(k, prefix) || !strings.HasSuffix(k, "relative_position_bias_table") {
			continue
		}
		if len(t.Shape) != 2 {
			return 0, false, fmt.Errorf("tensor %q has shape %v, want [(2w-1)^2, heads]", k, t.Shape)
		}
		if heads == 0 || t.Shape[1] < heads {
			heads = t.Shape[1] // the smallest, so that Check names the odd one out
		}
	}
	switch {
	case heads == 0 && override > 0:
		return override, false, nil
	case heads == 0:
		return defaultHeads, false, nil
	case override > 0 && override != heads:
		return 0, false, fmt.Errorf("the relative position tables have %d heads, the option asks for %d", heads, override)
	}
	return heads, true, nil
}

// inferD fills the discriminator fields of c from a D state_dict.
func inferD(d map[string]*model.Tensor, c *model.Config, opts Options) error {
	var err error
	if w, ok := first(d, model.DPatchW, "patch_embed.proj.weight"); ok {
		if len(w.Shape) != 4 {
			return fmt.Errorf("patch_embed.weight has shape %v, want [C, 3, p, p]", w.Shape)
		}
		c.DKind, c.DDim, c.DPatch = model.DViT, w.Shape[0], w.Shape[2]
		c.DDepth = countIndices(d, "blocks.")
		c.DHeads, c.DRelPos, err = headsFromTables(d, "blocks.", opts.DHeads)
		return err
	}
	w, ok := d[model.DRGB1W]
	if !ok {
		return fmt.Errorf("no %s (v1 D) or %s (final D): not a TransGAN discriminator", model.DPatchW, model.DRGB1W)
	}
	head, ok := d[model.DHeadW]
	if len(w.Shape) != 4 || !ok || len(head.Shape) != 2 {
		return fmt.Errorf("%s %v / %s: unexpected shapes", model.DRGB1W, w.Shape, model.DHeadW)
	}
	if !hasNormKeys(d) {
		c.DNorm = model.PixelNorm
	}
	if _, ok := d[model.DRGB3W]; ok {
		return inferD3(d, c, w, head, opts)
	}
	c.DKind, c.DDim, c.DPatch = model.DScale2, head.Shape[1], w.Shape[2]
	c.DDepth = countIndices(d, "blocks_1.")
	// ViT_custom_scale2 is ViT_custom_scale2_rp_noise without any
	// noise_strength_1; a file missing only some of them is broken.
	c.DNoNoise = !hasSuffix(d, "attn.noise_strength_1")
	c.DHeads, c.DRelPos, err = headsFromTables(d, "blocks_", opts.DHeads)
	return err
}

// fillDFromPreset gives a config without a discriminator in the file the D
// settings of the preset of the same version (and generator family, when
// one has it) closest in image size and width, with the patch reduced until
// it fits the image.
func fillDFromPreset(c *model.Config) string {
	best, bestScore := "", math.MaxInt
	for _, name := range model.PresetNames() {
		p, _ := model.Preset(name)
		if p.Version != c.Version {
			continue
		}
		score := abs(p.ImageSize-c.ImageSize)*100000 + abs(p.GDim-c.GDim)
		if p.GArch != c.GArch {
			score += 1 << 40
		}
		if score < bestScore {
			best, bestScore = name, score
		}
	}
	p, _ := model.Preset(best)
	c.DKind, c.DDim, c.DDepth, c.DPatch, c.DHeads, c.DRelPos = p.DKind, p.DDim, p.DDepth, p.DPatch, p.DHeads, p.DRelPos
	c.DNorm, c.DNoNoise, c.DWindow, c.DFilterBank = p.DNorm, p.DNoNoise, p.DWindow, p.DFilterBank
	for c.DPatch > 1 && !patchFits(c) {
		c.DPatch--
	}
	return best
}

// patchFits reports whether the D patch divides the image as its kind needs.
func patchFits(c *model.Config) bool {
	n := c.ImageSize / c.DPatch
	switch {
	case c.ImageSize%c.DPatch != 0:
		return false
	case c.DKind == model.DScale2:
		return n%2 == 0
	case c.DKind == model.DCeleba256 || c.DKind == model.DScale3:
		return n%4 == 0 && c.DPatch%2 == 0 && (n>>1)%c.DWindow == 0 && n%c.DWindow == 0
	}
	return true
}

// countIndices returns 1 + the largest N among keys "<prefix>N.<...>".
func countIndices(w map[string]*model.Tensor, prefix string) int {
	n := 0
	for k := range w {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(num); ok && err == nil && i+1 > n {
			n = i + 1
		}
	}
	return n
}

func hasPrefix(w map[string]*model.Tensor, prefix string) bool {
	for k := range w {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func first(w map[string]*model.Tensor, names ...string) (*model.Tensor, bool) {
	for _, n := range names {
		if t, ok := w[n]; ok {
			return t, true
		}
	}
	return nil, false
}

func isqrt(n int) int { return int(math.Round(math.Sqrt(float64(n)))) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
