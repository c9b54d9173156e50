package model

import (
	"math/rand"
	"strings"
	"testing"
)

// TestZooParamCounts checks every new preset against the parameter counts
// of SPEC-hires section 6, computed there from the official modules at the
// scripts' arguments (int64 index buffers and Hz_fbank excluded; the dead
// cross-attention noise strengths counted, as PyTorch counts them).
func TestZooParamCounts(t *testing.T) {
	for _, tc := range []struct {
		preset string
		g, d   int
	}{
		{"final-stl", 168466623, 10341536},
		{"celeba-hq-256", 212903275, 13334593},
		{"church-256", 205291952, 17754569},
	} {
		c, err := Preset(tc.preset)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", tc.preset, err)
		}
		if got := countFloat(c.GParams()); got != tc.g {
			t.Errorf("%s G: %d parameters, want %d", tc.preset, got, tc.g)
		}
		if got := countFloat(c.DParams()); got != tc.d {
			t.Errorf("%s D: %d parameters, want %d", tc.preset, got, tc.d)
		}
	}
}

func countFloat(ps []Param) int {
	n := 0
	for _, p := range ps {
		if !p.Int64 && (!p.Buffer || p.Dead) {
			n += p.Size()
		}
	}
	return n
}

// TestZooKeyLayout checks key facts of SPEC-hires that the counts alone
// would not catch: dead parameters, buffers, norms and noise per family.
func TestZooKeyLayout(t *testing.T) {
	find := func(ps []Param, name string) (Param, bool) {
		for _, p := range ps {
			if p.Name == name {
				return p, true
			}
		}
		return Param{}, false
	}
	celeba, _ := Preset("celeba-hq-256")
	g := celeba.GParams()
	dead := 0
	for _, p := range g {
		if p.Dead {
			dead++
		}
	}
	if dead != 20 {
		t.Errorf("celeba-hq-256 G: %d dead cross_attention.noise_strength_1, want 20", dead)
	}
	if _, ok := find(g, "blocks_1.block.0.attn.qkv.weight"); ok {
		t.Error("celeba-hq-256 G has blocks_1 (the official module comments it out)")
	}
	if p, ok := find(g, "blocks_3.block.0.attn.relative_position_index"); !ok || !SameShape(p.Shape, []int{1024, 1024}) {
		t.Errorf("celeba blocks_3 index: %v %v, want [1024 1024]", p.Shape, ok)
	}
	if p, ok := find(g, "blocks_6.block.3.cross_attention.k_transform.weight"); !ok || !SameShape(p.Shape, []int{16, 1024}) {
		t.Errorf("celeba blocks_6 cross k: %v %v, want [16 1024]", p.Shape, ok)
	}
	if p, ok := find(celeba.DParams(), DFilterBankName); !ok || !p.Buffer {
		t.Errorf("celeba D: Hz_fbank missing or not a buffer")
	}
	if p, ok := find(celeba.DParams(), DRGB1W); !ok || !SameShape(p.Shape, []int{96, 3, 4, 4}) {
		t.Errorf("celeba D fRGB_1: %v, want [96 3 4 4]", p.Shape)
	}
	church, _ := Preset("church-256")
	if p, ok := find(church.DParams(), "blocks_11.0.attn.relative_position_index"); !ok || !SameShape(p.Shape, []int{4096, 4096}) {
		t.Errorf("church D blocks_11 index: %v, want [4096 4096]", p.Shape)
	}
	if _, ok := find(church.DParams(), "blocks_1.0.attn.noise_strength_1"); ok {
		t.Error("church D attention has noise (ViT_scale3_local_new_rp has none)")
	}
	if _, ok := find(church.GParams(), "blocks_1.block.4.attn.noise_strength_1"); !ok {
		t.Error("church G blocks_1.block.4 lacks attention noise")
	}
	stl, _ := Preset("final-stl")
	for _, ps := range [][]Param{stl.GParams(), stl.DParams()} {
		for _, p := range ps {
			if strings.Contains(p.Name, "norm") {
				t.Errorf("final-stl (PixelNorm) has norm tensor %s", p.Name)
			}
		}
	}
	norp, _ := Preset("final-cifar-norp")
	if _, ok := find(norp.GParams(), "blocks.block.0.attn.relative_position_bias_table"); ok {
		t.Error("final-cifar-norp G has a relative-position table")
	}
	if _, ok := find(norp.GParams(), "blocks.block.0.attn.noise_strength_1"); !ok {
		t.Error("final-cifar-norp G lacks attention noise")
	}
	if _, ok := find(norp.DParams(), "blocks_1.0.attn.noise_strength_1"); ok {
		t.Error("final-cifar-norp D (ViT_custom_scale2) has attention noise")
	}
	if _, ok := find(norp.DParams(), "blocks_1.0.attn.relative_position_bias_table"); !ok {
		t.Error("final-cifar-norp D lacks its relative-position table")
	}
}

// TestInitFilterBank: fresh weights carry the real Hz_fbank buffer.
func TestInitFilterBank(t *testing.T) {
	c, _ := Preset("celeba-hq-256")
	var ps []Param
	for _, p := range c.DParams() {
		if p.Name == DFilterBankName {
			ps = append(ps, p)
		}
	}
	w := InitWeights(ps, rand.New(rand.NewSource(1)))
	want := FilterBank()
	for i, v := range w[DFilterBankName].F32 {
		if v != want[i] {
			t.Fatalf("Hz_fbank[%d] = %v, want %v", i, v, want[i])
		}
	}
}
