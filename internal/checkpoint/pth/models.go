package pth

import (
	"fmt"
	"slices"

	"github.com/tgan-dev/tgan/model"
)

// Official model file names (--gen_model / --dis_model) of the final code.
const (
	genRP      = "ViT_custom_rp"
	genCustom  = "ViT_custom"
	genCeleba  = "Celeba256_gen"
	genChurch  = "ViT_custom_local544444_256_rp_noise"
	disS2N     = "ViT_custom_scale2_rp_noise"
	disS2      = "ViT_custom_scale2"
	disCeleba  = "Celeba256_dis"
	disScale3  = "ViT_scale3_local_new_rp"
	fixedHeads = 4 // every official model file
)

// officialModels returns the official code's --gen_model and --dis_model
// for cfg, or an error naming the first setting that code cannot express:
// the official model files fix the head count, the MLP ratio, the number of
// stages (and for v1 the stage depths and mask schedule), and the final D
// derives its relative-position windows from the generator's bottom width.
//
// The 256 models hard-code their sizes (bottom width 8, windows equal to
// the stage sides of a 256x256 output, 4 heads). A smaller config of those
// families keeps their state_dict layout exactly, so it is exported, with a
// note: the file loads strictly into a module built at its sizes (the
// reference in testdata/ref), not into the official script.
func officialModels(cfg *model.Config) (gen, dis string, notes []string, err error) {
	bad := func(format string, a ...any) (string, string, []string, error) {
		return "", "", nil, fmt.Errorf("the official %s code cannot express this config: "+format, append([]any{cfg.Version}, a...)...)
	}
	if cfg.MLPRatio != 4 {
		return bad("MLP ratio %d (its discriminators fix 4)", cfg.MLPRatio)
	}
	if cfg.Version != model.Final {
		gen, dis, err = v1Models(cfg)
		return gen, dis, nil, err
	}
	if cfg.GHeads != fixedHeads && cfg.BicubicStages() == 0 || cfg.DHeads != fixedHeads && cfg.DKind == model.DScale2 {
		return bad("G/D heads %d/%d (its models fix 4)", cfg.GHeads, cfg.DHeads)
	}
	if len(cfg.MaskSchedule) > 0 {
		return bad("a locality mask schedule (the final code has none)")
	}
	if gen, err = finalGen(cfg); err != nil {
		return bad("%v", err)
	}
	if dis, err = finalDis(cfg); err != nil {
		return bad("%v", err)
	}
	return gen, dis, sizeNotes(cfg, gen, dis), nil
}

// finalGen is the generator file of a final-code config.
func finalGen(cfg *model.Config) (string, error) {
	switch cfg.GArch {
	case model.GDefault, model.GCustom:
		if cfg.Stages() != 3 {
			return "", fmt.Errorf("%d generator stages (ViT_custom_rp and ViT_custom have 3)", cfg.Stages())
		}
		if cfg.GArch == model.GCustom {
			return genCustom, nil
		}
		if !cfg.GRelPos {
			return "", fmt.Errorf("g_rel_pos false with the default generator (ViT_custom_rp has it; g_arch custom is ViT_custom)")
		}
		return genRP, nil
	}
	// The first three stages are global (hard-coded windows 8, 16, 32 at
	// bottom width 8); the last three share one --g_window_size.
	for s := 0; s < 3; s++ {
		if cfg.GPartition(s) != cfg.StageWidth(s) {
			return "", fmt.Errorf("g_windows[%d] = %d: stage %d is global in %s (window %d)", s, cfg.GWindows[s], s+1, cfg.GArch, cfg.StageWidth(s))
		}
	}
	if w := cfg.GWindows[3:]; w[0] != w[1] || w[1] != w[2] {
		return "", fmt.Errorf("g_windows %v: the last three stages share one --g_window_size", cfg.GWindows)
	}
	if cfg.GArch == model.GCeleba256 {
		return genCeleba, nil
	}
	return genChurch, nil
}

// finalDis is the discriminator file of a final-code config.
func finalDis(cfg *model.Config) (string, error) {
	switch cfg.DKind {
	case model.DScale2:
		switch {
		case !cfg.DRelPos:
			return "", fmt.Errorf("d_rel_pos false (both scale2 discriminators have relative position)")
		case cfg.ImageSize/cfg.DPatch != 2*cfg.BottomWidth:
			return "", fmt.Errorf("D patch %d: its D windows are 2x and 1x the bottom width %d, so the patch must be %d",
				cfg.DPatch, cfg.BottomWidth, cfg.ImageSize/(2*cfg.BottomWidth))
		case cfg.DNoNoise:
			return disS2, nil
		}
		return disS2N, nil
	case model.DCeleba256:
		if cfg.DPatch == 6 { // Celeba256_dis builds other convolutions for patch 6
			return "", fmt.Errorf("D patch 6 (Celeba256_dis then builds other patch embeddings)")
		}
		return disCeleba, nil
	case model.DScale3:
		return disScale3, nil
	}
	return "", fmt.Errorf("d_kind %s (the final code's discriminators are scale2, celeba256 and scale3)", cfg.DKind)
}

// sizeNotes lists the sizes an exported 256 model has that its official
// file hard-codes otherwise.
func sizeNotes(cfg *model.Config, gen, dis string) []string {
	var notes []string
	const where = "the file keeps its layout and loads strictly into a module built at these sizes (e.g. testdata/ref/transgan_ref_hires.py), not into the official script"
	if cfg.BicubicStages() > 0 && (cfg.BottomWidth != 8 || cfg.GHeads != fixedHeads) {
		notes = append(notes, fmt.Sprintf("%s hard-codes bottom width 8 (a 256x256 output) and 4 heads, this model has %d and %d: %s",
			gen, cfg.BottomWidth, cfg.GHeads, where))
	}
	three := cfg.DKind == model.DCeleba256 || cfg.DKind == model.DScale3
	if three && cfg.DHeads != fixedHeads {
		notes = append(notes, fmt.Sprintf("%s fixes 4 heads, this model has %d: %s", dis, cfg.DHeads, where))
	}
	if cfg.DKind == model.DScale3 && cfg.ImageSize/cfg.DPatch != 64 {
		notes = append(notes, fmt.Sprintf("%s hard-codes the windows 64, 32, 16 of a 256x256 image at patch 4, this model's scales are %d, %d, %d: %s",
			dis, cfg.DScaleSide(0), cfg.DScaleSide(1), cfg.DScaleSide(2), where))
	}
	return notes
}

// v1Models is the generator and discriminator file of a v1 config.
func v1Models(cfg *model.Config) (gen, dis string, err error) {
	bad := func(format string, a ...any) (string, string, error) {
		return "", "", fmt.Errorf("the official %s code cannot express this config: "+format, append([]any{cfg.Version}, a...)...)
	}
	if cfg.GHeads != fixedHeads || cfg.DHeads != fixedHeads {
		return bad("G/D heads %d/%d (its models fix 4)", cfg.GHeads, cfg.DHeads)
	}
	if cfg.GRelPos || cfg.DRelPos || cfg.DKind != model.DViT {
		return bad("g_rel_pos %v, d_kind %s, d_rel_pos %v (v1: false, vit, false)", cfg.GRelPos, cfg.DKind, cfg.DRelPos)
	}
	// The v1 generator files hard-code their stage depths and mask schedule.
	v1Gens := []struct {
		name   string
		depths []int
		mask   []model.MaskStep
	}{
		{"TransGAN_8_8_1", []int{5, 4, 2}, model.V1MaskSchedule()},
		{"TransGAN_8_8_G2_1", []int{5, 2, 2}, model.V1MaskSchedule()},
		{"Celeba64_TransGAN", []int{5, 3, 3, 2}, model.V1CelebAMaskSchedule()},
	}
	for _, g := range v1Gens {
		if !slices.Equal(cfg.GDepths, g.depths) {
			continue
		}
		if !slices.Equal(cfg.MaskSchedule, g.mask) {
			return bad("mask schedule %v (%s hard-codes %v)", cfg.MaskSchedule, g.name, g.mask)
		}
		return g.name, "ViT_8_8", nil
	}
	return bad("generator depths %v (its generator files have 5,4,2, 5,2,2 and 5,3,3,2)", cfg.GDepths)
}
