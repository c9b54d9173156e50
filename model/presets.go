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
	"final-cifar": func() *Config {
		return &Config{
			Version: Final, LatentDim: 256, GDim: 1024, BottomWidth: 8, GDepths: []int{5, 4, 2},
			GHeads: 4, MLPRatio: 4, ImageSize: 32, GRelPos: true,
			DKind: DScale2, DDim: 384, DDepth: 3, DPatch: 2, DHeads: 4, DRelPos: true,
		}
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
