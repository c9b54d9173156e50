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
	// DScale2 is the final two-scale discriminator with learned attention noise.
	DScale2 DKind = "scale2"
)

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

	// Discriminator.
	DKind   DKind `json:"d_kind" yaml:"d_kind"`
	DDim    int   `json:"d_dim" yaml:"d_dim"`     // token width (final D: the second scale's width)
	DDepth  int   `json:"d_depth" yaml:"d_depth"` // blocks (final D: per scale)
	DPatch  int   `json:"d_patch" yaml:"d_patch"` // patch side (final D: of the first scale)
	DHeads  int   `json:"d_heads" yaml:"d_heads"`
	DRelPos bool  `json:"d_rel_pos" yaml:"d_rel_pos"` // relative position bias in the D scale blocks
}

// Stages is the number of generator stages.
func (c *Config) Stages() int { return len(c.GDepths) }

// StageDim is the token width of generator stage s (0-based).
func (c *Config) StageDim(s int) int { return c.GDim >> (2 * s) }

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
	return &d
}
