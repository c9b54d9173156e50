package model

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Version selects which official code base an architecture follows.
type Version string

const (
	// V1 is the February 2021 code: G TransGAN_8_8_1, D ViT_8_8.
	V1 Version = "v1"
	// Final is the NeurIPS 2021 code: G ViT_custom_rp, D ViT_custom_scale2_rp_noise.
	Final Version = "final"
)

// DKind selects the discriminator family.
type DKind string

const (
	// DViT is the v1 discriminator: one patch embedding, a cls token, one stack of blocks.
	DViT DKind = "vit"
	// DScale2 is the final two-scale discriminator (ViT_custom_scale2_rp_noise,
	// or ViT_custom_scale2 with DNoNoise).
	DScale2 DKind = "scale2"
	// DCeleba256 is Celeba256_dis: three input scales (the first an
	// overlapping convolution), windowed first scales, no relative position.
	DCeleba256 DKind = "celeba256"
	// DScale3 is ViT_scale3_local_new_rp (LSUN Church 256): three input
	// scales with relative position bias, the first scale windowed.
	DScale3 DKind = "scale3"
)

// GArch selects the generator family within a code version.
type GArch string

const (
	// GDefault is the version's own generator: TransGAN_8_8_1 (v1) or
	// ViT_custom_rp (final).
	GDefault GArch = ""
	// GCustom is ViT_custom: no relative position bias, learned attention
	// noise in every block.
	GCustom GArch = "custom"
	// GCeleba256 is Celeba256_gen: cross-attention of every block to an
	// embedding of z, window attention, bicubic stages and updown filters.
	GCeleba256 GArch = "celeba256"
	// GChurch256 is ViT_custom_local544444_256_rp_noise: window attention
	// with relative position per window, bicubic stages, attention noise.
	GChurch256 GArch = "church256"
)

// Norm selects the normalisation of a network's blocks.
type Norm string

const (
	// LayerNorm (the empty value) is LayerNorm with affine weights, eps 1e-5.
	LayerNorm Norm = ""
	// PixelNorm divides every token by the root mean square of its channels
	// (eps 1e-8 inside the root); it has no parameters.
	PixelNorm Norm = "pn"
)

// PixelNormEps is the epsilon inside PixelNorm's root.
const PixelNormEps = 1e-8

// LayerNormEps is the epsilon of every LayerNorm in both versions.
const LayerNormEps = 1e-5

// MaskStep is one step of the v1 locality-aware attention schedule: while
// the training epoch is below UntilEpoch, the last generator block only lets
// token i attend to tokens j with |i-j| <= Window.
type MaskStep struct {
	UntilEpoch int `json:"until_epoch" yaml:"until_epoch"`
	Window     int `json:"window" yaml:"window"`
}

// Config is a complete TransGAN architecture. The JSON names are the ones
// stored in checkpoints and ONNX metadata; zero values are invalid, so start
// from a preset (Preset) and change fields.
type Config struct {
	Version Version `json:"version" yaml:"version"`

	// Generator.
	LatentDim   int   `json:"latent_dim" yaml:"latent_dim"`     // z size, e.g. 1024 (v1) or 256 (final)
	GDim        int   `json:"g_dim" yaml:"g_dim"`               // stage-1 token width C; stage s has C/4^s
	BottomWidth int   `json:"bottom_width" yaml:"bottom_width"` // stage-1 feature map side, e.g. 8
	GDepths     []int `json:"g_depths" yaml:"g_depths"`         // blocks per stage; len = number of stages
	GHeads      int   `json:"g_heads" yaml:"g_heads"`           // attention heads (4 in every official config)
	MLPRatio    int   `json:"mlp_ratio" yaml:"mlp_ratio"`       // hidden width of the MLP / C (4)
	ImageSize   int   `json:"image_size" yaml:"image_size"`     // = BottomWidth * 2^(stages-1)
	// GRelPos turns on the Swin-style relative position bias (final G).
	GRelPos bool `json:"g_rel_pos" yaml:"g_rel_pos"`
	// MaskSchedule is the v1 locality-aware initialisation; empty means never masked.
	MaskSchedule []MaskStep `json:"mask_schedule,omitempty" yaml:"mask_schedule,omitempty"`
	// GArch is the generator family of a final-version config (empty: ViT_custom_rp).
	GArch GArch `json:"g_arch,omitempty" yaml:"g_arch,omitempty"`
	// GNorm is the generator blocks' normalisation (empty: LayerNorm).
	GNorm Norm `json:"g_norm,omitempty" yaml:"g_norm,omitempty"`
	// GWindows are the relative-position window sides per stage of the 256
	// generators (celeba256, church256); a window smaller than the stage's
	// feature map partitions it into windows, an equal one is global.
	GWindows []int `json:"g_windows,omitempty" yaml:"g_windows,omitempty"`

	// Discriminator.
	DKind   DKind `json:"d_kind" yaml:"d_kind"`
	DDim    int   `json:"d_dim" yaml:"d_dim"`     // token width (final D: the second scale's width)
	DDepth  int   `json:"d_depth" yaml:"d_depth"` // blocks (final D: per scale)
	DPatch  int   `json:"d_patch" yaml:"d_patch"` // patch side (final D: of the first scale)
	DHeads  int   `json:"d_heads" yaml:"d_heads"`
	DRelPos bool  `json:"d_rel_pos" yaml:"d_rel_pos"` // relative position bias in the D scale blocks
	// DNorm is the discriminator blocks' and final norm's normalisation.
	DNorm Norm `json:"d_norm,omitempty" yaml:"d_norm,omitempty"`
	// DNoNoise drops the scale2 D's attention noise (ViT_custom_scale2).
	DNoNoise bool `json:"d_no_noise,omitempty" yaml:"d_no_noise,omitempty"`
	// DWindow is the window side of the first-scale blocks of the celeba256
	// and scale3 discriminators (d_window_size).
	DWindow int `json:"d_window,omitempty" yaml:"d_window,omitempty"`
	// DFilterBank adds the Celeba256_dis buffer Hz_fbank [4, 43], present
	// in official checkpoints whose augmentation policy names "filter".
	DFilterBank bool `json:"d_filter_bank,omitempty" yaml:"d_filter_bank,omitempty"`
}

// Stages is the number of generator stages.
func (c *Config) Stages() int { return len(c.GDepths) }

// StageDim is the token width of generator stage s (0-based): pixel-shuffle
// upsamplings divide it by 4, bicubic ones keep it.
func (c *Config) StageDim(s int) int { return c.GDim >> (2 * max(0, s-c.BicubicStages())) }

// BicubicStages is how many of the first upsamplings are bicubic
// (channels kept) rather than pixel shuffles: 2 in the 256 generators.
func (c *Config) BicubicStages() int {
	if c.GArch == GCeleba256 || c.GArch == GChurch256 {
		return 2
	}
	return 0
}

// UpDownAfter reports whether Celeba256_gen filters the feature map with
// updown (bicubic x4 then 4x4 average pooling) after stage s's blocks: it
// does after the 64x64 and 128x128 stages (blocks_4, blocks_5).
func (c *Config) UpDownAfter(s int) bool {
	return c.GArch == GCeleba256 && (s == 3 || s == 4)
}

// GNoise reports whether the generator's self-attentions take learned
// input noise (ViT_custom and both 256 generators).
func (c *Config) GNoise() bool {
	return c.GArch == GCustom || c.GArch == GCeleba256 || c.GArch == GChurch256
}

// GNoiseDraws is T, the number of attention-noise draws per image of the
// generator (0 for families without noise): for every self-attention in
// forward order (stages in order, blocks in order) the token count of its
// stage. A draw is one standard-normal value per token, scaled by the
// block's noise_strength_1 and added to every channel of the normalised
// attention input (SPEC-hires 0.4). Windowed stages take their draws in
// image-token order too and partition them like the tokens, so the same
// draws mean the same per-pixel noise whatever the windows. It is the
// width of an exported generator's "noise" input.
func (c *Config) GNoiseDraws() int {
	if !c.GNoise() {
		return 0
	}
	t := 0
	for s, depth := range c.GDepths {
		t += depth * c.StageTokens(s)
	}
	return t
}

// GPartition is the side of the attention windows of generator stage s:
// the stage's feature-map side when attention is global.
func (c *Config) GPartition(s int) int {
	if s < len(c.GWindows) && c.GWindows[s] > 0 && c.GWindows[s] < c.StageWidth(s) {
		return c.GWindows[s]
	}
	return c.StageWidth(s)
}

// StageWidth is the feature-map side of generator stage s (0-based).
func (c *Config) StageWidth(s int) int { return c.BottomWidth << s }

// StageTokens is the token count of generator stage s.
func (c *Config) StageTokens(s int) int { w := c.StageWidth(s); return w * w }

// OutDim is the width of the last generator stage (the input of deconv).
func (c *Config) OutDim() int { return c.StageDim(c.Stages() - 1) }

// MaskWindow returns the v1 locality window for a training epoch, or 0 when
// no mask applies (epoch < 0 means inference: never masked).
func (c *Config) MaskWindow(epoch int) int {
	if epoch < 0 {
		return 0
	}
	for _, st := range c.MaskSchedule {
		if epoch < st.UntilEpoch {
			return st.Window
		}
	}
	return 0
}

// DTokens returns the token count seen by the D blocks: for DViT the
// patches (without cls); for DScale2 the first scale's patches.
func (c *Config) DTokens() int {
	n := c.ImageSize / c.DPatch
	return n * n
}

// DScale1Dim is the width of the final D's first scale (3/4 of DDim).
func (c *Config) DScale1Dim() int { return c.DDim / 4 * 3 }

// DScale2Side is the side of the final D's second-scale feature map.
func (c *Config) DScale2Side() int { return c.ImageSize / c.DPatch / 2 }

// JSON returns the config as indented JSON (checkpoint and ONNX metadata).
func (c *Config) JSON() string {
	b, _ := json.Marshal(c) // a Config has only plain fields: Marshal cannot fail
	return string(b)
}

// ParseJSON reads a config written by JSON and validates it.
func ParseJSON(s string) (*Config, error) {
	var c Config
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	d := *c
	d.GDepths = append([]int(nil), c.GDepths...)
	d.MaskSchedule = append([]MaskStep(nil), c.MaskSchedule...)
	d.GWindows = append([]int(nil), c.GWindows...)
	return &d
}
