package model

import (
	"fmt"
	"sort"
	"strings"
)

// V1MaskSchedule is the locality-aware schedule of the v1 CIFAR/STL code:
// windows 4, 6, 8, 10 until epochs 22, 32, 42, 60, no mask afterwards.
func V1MaskSchedule() []MaskStep {
	return []MaskStep{{22, 4}, {32, 6}, {42, 8}, {60, 10}}
}

// V1CelebAMaskSchedule is the v1 CelebA 64x64 schedule (4 stages).
func V1CelebAMaskSchedule() []MaskStep {
	return []MaskStep{{5, 8}, {10, 12}, {15, 16}, {20, 20}}
}

// v1 returns a v1 generator with the paper's D (384 wide, 7 deep, patch 4).
func v1(gdim, bottom int, depths ...int) *Config {
	return &Config{
		Version: V1, LatentDim: 1024, GDim: gdim, BottomWidth: bottom, GDepths: depths,
		GHeads: 4, MLPRatio: 4, ImageSize: bottom << (len(depths) - 1),
		MaskSchedule: V1MaskSchedule(),
		DKind:        DViT, DDim: 384, DDepth: 7, DPatch: 4, DHeads: 4,
	}
}

func finalCIFAR() *Config {
	return &Config{
		Version: Final, LatentDim: 256, GDim: 1024, BottomWidth: 8, GDepths: []int{5, 4, 2},
		GHeads: 4, MLPRatio: 4, ImageSize: 32, GRelPos: true,
		DKind: DScale2, DDim: 384, DDepth: 3, DPatch: 2, DHeads: 4, DRelPos: true,
	}
}

// hires256 is the shared part of the two 256x256 setups: latent 512,
// width 1024 from an 8x8 grid, two bicubic then three pixel-shuffle
// upsamplings, windows 8 (church only), 16, 32 on the first three stages
// (global there) and g_window_size 16 after; PixelNorm in G, LayerNorm in D
// (the scripts pass no --d_norm), a 384-wide D of depth 3.
func hires256(arch GArch, firstDepth int) *Config {
	return &Config{
		Version: Final, GArch: arch, LatentDim: 512, GDim: 1024, BottomWidth: 8,
		GDepths: []int{firstDepth, 4, 4, 4, 4, 4}, GHeads: 4, MLPRatio: 4, ImageSize: 256,
		GNorm: PixelNorm, GWindows: []int{8, 16, 32, 16, 16, 16},
		DDim: 384, DDepth: 3, DHeads: 4,
	}
}

var presets = map[string]func() *Config{
	// The v1 TransGAN-XL CIFAR-10 model (paper Table 4: IS 8.63, FID 11.89).
	"v1-cifar": func() *Config { return v1(1024, 8, 5, 4, 2) },
	// v1 STL-10 48x48: bottom 12, 144/576/2304 tokens.
	"v1-stl": func() *Config { return v1(768, 12, 5, 2, 2) },
	// v1 CelebA 64x64: four stages, last width 16 (head dim 4).
	"v1-celeba64": func() *Config {
		c := v1(1024, 8, 5, 3, 3, 2)
		c.MaskSchedule = V1CelebAMaskSchedule()
		return c
	},
	// The NeurIPS 2021 CIFAR-10 model (IS 9.02, FID 9.26).
	"final-cifar": finalCIFAR,
	// The no-relative-position CIFAR pair: ViT_custom G (attention noise,
	// no rel-pos) with ViT_custom_scale2 D (rel-pos, no noise).
	"final-cifar-norp": func() *Config {
		c := finalCIFAR()
		c.GArch, c.GRelPos, c.DNoNoise = GCustom, false, true
		return c
	},
	// The final STL-10 48x48 model (exps/stl_train.py): PixelNorm in G and D.
	"final-stl": func() *Config {
		return &Config{
			Version: Final, LatentDim: 512, GDim: 1024, BottomWidth: 12, GDepths: []int{7, 5, 3},
			GHeads: 4, MLPRatio: 4, ImageSize: 48, GRelPos: true, GNorm: PixelNorm,
			DKind: DScale2, DDim: 384, DDepth: 3, DPatch: 2, DHeads: 4, DRelPos: true, DNorm: PixelNorm,
		}
	},
	// CelebA-HQ 256 (exps/celeba_hq_256_train.py): Celeba256_gen (no
	// blocks_1: g_depth[0] is ignored) and Celeba256_dis with its filter bank.
	"celeba-hq-256": func() *Config {
		c := hires256(GCeleba256, 0)
		c.DKind, c.DPatch, c.DWindow, c.DFilterBank = DCeleba256, 2, 4, true
		return c
	},
	// LSUN Church 256 (exps/church_256_train.py).
	"church-256": func() *Config {
		c := hires256(GChurch256, 5)
		c.DKind, c.DPatch, c.DWindow, c.DRelPos = DScale3, 4, 16, true
		return c
	},
	// Paper model sizes (v1 code): G width 384/512/768/1024, D 384 wide and 7 deep.
	"s":  func() *Config { return v1(384, 8, 5, 2, 2) },
	"m":  func() *Config { return v1(512, 8, 5, 2, 2) },
	"l":  func() *Config { return v1(768, 8, 5, 2, 2) },
	"xl": func() *Config { return v1(1024, 8, 5, 4, 2) },
	// tiny keeps the v1 family at a size that trains visibly on 2 CPU cores:
	// 16x16 images, stage widths 256/64/16 (head dims 64/16/4; the cost is
	// dominated by the 256-token last stage, so the width is nearly free).
	// No locality mask: the demo runs for less than one Fashion-MNIST epoch,
	// where the schedule would keep the last block masked throughout.
	"tiny": func() *Config {
		c := v1(256, 4, 2, 1, 1)
		c.LatentDim = 64
		c.DDim, c.DDepth, c.DPatch = 64, 2, 2
		c.MaskSchedule = nil
		return c
	},
}

// Preset returns a fresh copy of a named configuration.
func Preset(name string) (*Config, error) {
	f, ok := presets[name]
	if !ok {
		return nil, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(PresetNames(), ", "))
	}
	return f(), nil
}

// PresetNames lists the preset names in sorted order.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
