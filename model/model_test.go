package model

import (
	"strings"
	"testing"
)

func TestPresetsValidate(t *testing.T) {
	for _, name := range PresetNames() {
		c, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		back, err := ParseJSON(c.JSON())
		if err != nil || back.JSON() != c.JSON() {
			t.Errorf("%s: JSON round trip: %v", name, err)
		}
	}
}

func TestParamNamesAndShapes(t *testing.T) {
	c, _ := Preset("final-cifar")
	got := map[string][]int{}
	for _, p := range c.GParams() {
		got[p.Name] = p.Shape
	}
	for _, p := range c.DParams() {
		got["D:"+p.Name] = p.Shape
	}
	want := map[string][]int{
		"l1.weight":                              {65536, 256},
		"pos_embed_1":                            {1, 64, 1024},
		"blocks.block.0.attn.qkv.weight":         {3072, 1024},
		"upsample_blocks.1.block.1.mlp.fc2.bias": {64},
		"deconv.0.weight":                        {3, 64, 1, 1},
		"blocks.block.0.norm1.norm.weight":       {1024},
		"upsample_blocks.1.block.0.attn.relative_position_index": {1024, 1024},
		"D:blocks_1.0.attn.relative_position_bias_table":         {31 * 31, 4},
		"D:blocks_2.2.attn.noise_strength_1":                     {},
		"D:fRGB_1.weight":                                        {288, 3, 2, 2},
		"D:fRGB_2.weight":                                        {96, 3, 4, 4},
		"D:pos_embed_2":                                          {1, 64, 384},
		"D:last_block.0.mlp.fc1.weight":                          {1536, 384},
		"D:norm.norm.weight":                                     {384},
	}
	for name, shape := range want {
		g, ok := got[name]
		if !ok || len(g) != len(shape) {
			t.Errorf("%s: got %v, want %v", name, g, shape)
			continue
		}
		for i := range g {
			if g[i] != shape[i] {
				t.Errorf("%s: got %v, want %v", name, g, shape)
			}
		}
	}
	if _, ok := got["D:last_block.0.attn.relative_position_bias_table"]; ok {
		t.Error("last D block must not have a relative position bias")
	}
}

func TestV1Names(t *testing.T) {
	c, _ := Preset("s")
	names := map[string]bool{}
	for _, net := range [][]Param{c.GParams(), c.DParams()} {
		seen := map[string]bool{}
		for _, p := range net {
			if seen[p.Name] {
				t.Errorf("duplicate %s", p.Name)
			}
			seen[p.Name], names[p.Name] = true, true
		}
	}
	for _, n := range []string{"blocks.4.norm1.weight", "upsample_blocks.1.1.mlp.fc2.bias", "to_rgb.0.running_var",
		"patch_embed.weight", "pos_embed", "norm.weight", "head.bias", "pos_embed_3"} {
		if !names[n] {
			t.Errorf("missing %s", n)
		}
	}
	if !c.MaskedBlock(2, 1) || c.MaskedBlock(2, 0) || c.MaskedBlock(1, 1) {
		t.Error("only the last block of the last stage is masked")
	}
	for epoch, w := range map[int]int{-1: 0, 0: 4, 21: 4, 22: 6, 41: 8, 59: 10, 60: 0} {
		if got := c.MaskWindow(epoch); got != w {
			t.Errorf("epoch %d: window %d, want %d", epoch, got, w)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c, _ := Preset("s")
	c.GDim = 390 // not divisible by 16
	c.DPatch = 5
	c.Version = "v3"
	err := c.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, frag := range []string{"version", "g_dim 390", "d_patch 5"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error lacks %q:\n%v", frag, err)
		}
	}
}

func TestRelPosIndex(t *testing.T) {
	idx := RelPosIndex(2) // 4 tokens, table 3x3
	want := []int64{4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4}
	for i := range want {
		if idx[i] != want[i] {
			t.Fatalf("got %v, want %v", idx, want)
		}
	}
}
