package trainer

import (
	"fmt"
	"math"
	"strings"

	"github.com/tgan-dev/tgan/internal/data/augment"
	"github.com/tgan-dev/tgan/model"
)

// Loss names accepted by Options.Loss (the official code's --loss values).
const (
	LossWGANGPEps = "wgangp-eps" // WGAN-GP plus the 1e-3 drift term (official default)
	LossWGANGP    = "wgangp"
	LossHinge     = "hinge"
	LossStandard  = "standard" // BCE with logits
	LossLSGAN     = "lsgan"
)

// Losses lists the accepted loss names.
func Losses() []string {
	return []string{LossWGANGPEps, LossWGANGP, LossHinge, LossStandard, LossLSGAN}
}

// Options are the training hyper-parameters. Zero fields take the official
// defaults (Defaults); the JSON form is stored in every checkpoint.
type Options struct {
	Loss     string  `json:"loss" yaml:"loss"`           // default "wgangp-eps"
	NCritic  int     `json:"n_critic" yaml:"n_critic"`   // D steps per G step; default 5 (v1), 4 (final)
	GenBatch int     `json:"gen_batch" yaml:"gen_batch"` // G-step batch; default 64 (v1), 128 (final)
	DisBatch int     `json:"dis_batch" yaml:"dis_batch"` // D-step batch; default 32 (v1), 64 (final)
	LRG      float64 `json:"lr_g" yaml:"lr_g"`           // default 1e-4
	LRD      float64 `json:"lr_d" yaml:"lr_d"`           // default 1e-4
	Beta1    float64 `json:"beta1" yaml:"beta1"`         // default 0
	Beta2    float64 `json:"beta2" yaml:"beta2"`         // default 0.99
	AdamEps  float64 `json:"adam_eps" yaml:"adam_eps"`   // default 1e-8
	ClipNorm float64 `json:"clip_norm" yaml:"clip_norm"` // gradient-norm clip, default 5; < 0 disables
	Phi      float64 `json:"phi" yaml:"phi"`             // WGAN-GP target norm, default 1
	GPWeight float64 `json:"gp_weight" yaml:"gp_weight"` // default 10 (the penalty is scaled by GPWeight/Phi^2)
	// EMABeta > 0 is a fixed EMA decay per G step (v1 default: 0.999); < 0
	// (the final code's default, 0 there) selects the final code's schedule: beta = 0.5^(DisBatch/min(EMAKimg*1000,
	// EMAWarmup*images_seen)), whose first update copies.
	EMABeta float64 `json:"ema_beta" yaml:"ema_beta"`
	// EMARamp caps a fixed EMABeta by the warm-up (1+t)/(10+t) at G step t
	// (the TensorFlow ExponentialMovingAverage num_updates rule), so that
	// the average follows G early and reaches EMABeta after about 9000 G
	// steps; the v1 default (tgan's departure from the v1 code, whose fixed
	// 0.999 keeps 80% of the initial weights after 221 G steps).
	EMARamp   bool    `json:"ema_ramp,omitempty" yaml:"ema_ramp,omitempty"`
	EMAKimg   float64 `json:"ema_kimg" yaml:"ema_kimg"`     // default 500
	EMAWarmup float64 `json:"ema_warmup" yaml:"ema_warmup"` // default 0.1
	// Augment is the DiffAugment policy; default "translation,cutout,color",
	// "none" turns it off.
	Augment string `json:"augment" yaml:"augment"`
	// Samples is the number of images in each sample grid (default 64).
	Samples int `json:"samples" yaml:"samples"`
	// MaskEpochSteps, when > 0, counts an "epoch" of the v1 mask schedule as
	// this many iterations instead of a pass over the dataset (small demos).
	MaskEpochSteps int   `json:"mask_epoch_steps,omitempty" yaml:"mask_epoch_steps,omitempty"`
	Seed           int64 `json:"seed" yaml:"seed"`
	// SRWeight > 0 turns on the v1 paper's multi-task co-training: G also
	// super-resolves the real batch from its bottom-resolution version, and
	// SRWeight times that MSE joins the G loss (sr.go). 0 (default): off.
	SRWeight float64 `json:"sr_weight,omitempty" yaml:"sr_weight,omitempty"`
	// Accumulate is the number of D micro-batches (of DisBatch each) whose
	// gradients one D optimizer step sums, each scaled 1/Accumulate, as the
	// official accumulated_times (default 1). An iteration is one
	// micro-batch; G steps every NCritic*Accumulate iterations.
	Accumulate int `json:"accumulate,omitempty" yaml:"accumulate,omitempty"`
	// GAccumulate is the number of G micro-batches (of GenBatch each, fresh
	// z each) of one G step, each loss scaled 1/GAccumulate, as the
	// official g_accumulated_times (default 1).
	GAccumulate int `json:"g_accumulate,omitempty" yaml:"g_accumulate,omitempty"`
	// GradLeak adds the G step's gradient of the G loss with respect to
	// D's weights into the next D step's gradients (before its clip), as
	// the final code does by zeroing D's gradients only after a D step
	// (SPEC-hires 5.1). Off by default; on in the final families' presets.
	GradLeak bool `json:"grad_leak,omitempty" yaml:"grad_leak,omitempty"`
	// DriftGroup > 0 computes wgangp-eps's drift term per group of this
	// many real samples, 1e-3 * mean over groups of (group mean of
	// D(real))^2, as the official per-GPU micro-batches do; 0: the whole
	// batch, 1e-3 * (mean D(real))^2. It must divide DisBatch.
	DriftGroup int `json:"drift_group,omitempty" yaml:"drift_group,omitempty"`
}

// Defaults returns o with zero fields replaced by the official values for
// cfg's version.
func (o Options) Defaults(cfg *model.Config) Options {
	v1 := cfg.Version == model.V1
	pick := func(v *int, a, b int) {
		if *v == 0 {
			if v1 {
				*v = a
			} else {
				*v = b
			}
		}
	}
	pick(&o.NCritic, 5, 4)
	pick(&o.GenBatch, 64, 128)
	pick(&o.DisBatch, 32, 64)
	pick(&o.Samples, 64, 64)
	pick(&o.Accumulate, 1, 1)
	pick(&o.GAccumulate, 1, 1)
	def := func(v *float64, x float64) {
		if *v == 0 {
			*v = x
		}
	}
	def(&o.LRG, 1e-4)
	def(&o.LRD, 1e-4)
	def(&o.Beta2, 0.99)
	def(&o.AdamEps, 1e-8)
	def(&o.ClipNorm, 5)
	def(&o.Phi, 1)
	def(&o.GPWeight, 10)
	def(&o.EMAKimg, 500)
	def(&o.EMAWarmup, 0.1)
	if o.EMABeta == 0 && v1 {
		o.EMABeta, o.EMARamp = 0.999, true
	}
	if o.Loss == "" {
		o.Loss = LossWGANGPEps
	}
	if o.Augment == "" {
		o.Augment = "translation,cutout,color"
	}
	return o
}

// Validate reports the first invalid option.
func (o Options) Validate() error {
	known := false
	for _, l := range Losses() {
		known = known || l == o.Loss
	}
	switch {
	case !known:
		return fmt.Errorf("unknown loss %q (known: %s)", o.Loss, strings.Join(Losses(), ", "))
	case o.NCritic < 1:
		return fmt.Errorf("n_critic must be at least 1, got %d", o.NCritic)
	case o.GenBatch < 1 || o.DisBatch < 1:
		return fmt.Errorf("batch sizes must be positive (gen %d, dis %d)", o.GenBatch, o.DisBatch)
	case o.LRG <= 0 || o.LRD <= 0:
		return fmt.Errorf("learning rates must be positive")
	case o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1:
		return fmt.Errorf("adam betas must lie in [0, 1)")
	case o.EMABeta >= 1:
		return fmt.Errorf("ema_beta must be below 1 (negative: warm-up schedule)")
	case o.EMARamp && o.EMABeta <= 0:
		return fmt.Errorf("ema_ramp needs a fixed ema_beta in (0, 1) to settle at")
	case o.Samples < 1:
		return fmt.Errorf("samples must be positive")
	case !(o.SRWeight >= 0) || math.IsInf(o.SRWeight, 0):
		return fmt.Errorf("sr_weight must be finite and >= 0 (0: no multi-task co-training), got %v", o.SRWeight)
	case o.Accumulate < 1 || o.GAccumulate < 1:
		return fmt.Errorf("accumulate must be at least 1 for D and G, got %d,%d", o.Accumulate, o.GAccumulate)
	case o.SRWeight > 0 && o.GAccumulate > 1:
		return fmt.Errorf("sr_weight (multi-task co-training) works with one G micro-batch per G step, got g_accumulate %d", o.GAccumulate)
	case o.DriftGroup < 0 || o.DriftGroup > 0 && o.DisBatch%o.DriftGroup != 0:
		return fmt.Errorf("drift_group %d must be 0 (whole batch) or divide dis_batch %d", o.DriftGroup, o.DisBatch)
	}
	if _, err := augment.ParsePolicy(o.Augment); err != nil {
		return err
	}
	return nil
}

// hasGP says whether the loss uses the gradient penalty.
func (o Options) hasGP() bool { return o.Loss == LossWGANGP || o.Loss == LossWGANGPEps }

// PresetOptions returns the training options that a model preset brings
// (flags override them); zero Options (the official recipe) for presets
// without their own. tiny is the CPU demo: small batches, fewer critic
// steps and a learning rate of 4e-4 (four times the official 1e-4), so that
// Fashion-MNIST garments appear within about 10 minutes on 2 cores: at 2e-4
// the grid was still 4x4-block silhouettes after 1900 G steps, at 4e-4 it
// shows shoes, trousers, bags and sleeves by ~2250.
//
// The final families' presets bring their script's recipe (SPEC-hires
// 1.1, 2, 3, 5): batches are global (the sum over the official 8 GPUs),
// the drift term is taken per GPU micro-batch (DriftGroup) and the G
// loss's gradient leaks into D (GradLeak).
func PresetOptions(preset string) Options {
	switch preset {
	case "tiny":
		return Options{DisBatch: 16, GenBatch: 32, NCritic: 2, LRG: 4e-4, LRD: 4e-4, EMABeta: -1}
	case "final-cifar", "final-cifar-norp":
		// The CIFAR script's GPU count is not in SPEC.md: drift over the whole batch.
		return Options{GradLeak: true}
	case "final-stl": // exps/stl_train.py: 8 GPUs, D 4 and G 8 per GPU
		return Options{DisBatch: 32, GenBatch: 64, NCritic: 5, EMAKimg: 500, EMAWarmup: 0.05,
			Augment: "translation,stl_erase_ratio,color", GradLeak: true, DriftGroup: 4}
	case "celeba-hq-256": // exps/celeba_hq_256_train.py: D 2 x 4, G 4 x 4 per GPU
		return Options{DisBatch: 16, Accumulate: 4, GenBatch: 32, GAccumulate: 4, NCritic: 4, EMABeta: 0.995,
			Augment: "filter,translation,erase_ratio,color,hue", GradLeak: true, DriftGroup: 2}
	case "church-256": // exps/church_256_train.py: D 2 x 4, G 2 x 8 per GPU
		return Options{DisBatch: 16, Accumulate: 4, GenBatch: 16, GAccumulate: 8, NCritic: 4, EMABeta: 0.995,
			Augment: "translation,erase_ratio,color", GradLeak: true, DriftGroup: 2}
	}
	return Options{}
}
