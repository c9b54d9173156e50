package trainer

import (
	"errors"
	"fmt"
	"math"
	"math/rand"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/data/augment"
	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/model"
)

// ErrNonFinite is returned (wrapped) by Step when a loss or gradient is NaN
// or infinite; the step's update is not applied.
var ErrNonFinite = errors.New("non-finite loss")

// Trainer holds everything one training run changes: the weights of G, its
// EMA and D, both optimizers, the step counters and the data cursor.
type Trainer struct {
	Config *model.Config
	Opts   Options // with defaults filled in
	Gen    model.Weights
	AvgGen model.Weights // EMA of Gen: the generator to sample from
	Dis    model.Weights
	OptG   *Adam
	OptD   *Adam
	Iter   int64 // iterations (D steps) done
	GSteps int   // G steps done
	Loader *dataset.Loader
	FixedZ []float32 // [Opts.Samples, latent]: the z of every sample grid
	// SR holds sr_embed, the MT-CT task's tensors, and OptSR their Adam
	// (both nil unless Opts.SRWeight > 0; sr.go).
	SR    model.Weights
	OptSR *Adam

	policy  augment.Policy
	real    []float32
	gFwd    *fwdNet    // G, batch DisBatch, forward only (fakes for D)
	gTrain  *gradNet   // G, DiffAugment and D, batch GenBatch: the G step
	dTrain  *gradNet   // DiffAugment and D, batch 2*DisBatch (real then fake): the D step
	pen     *gradNet   // DiffAugment and D, batch DisBatch: WGAN-GP (nil without GP)
	sampler *fwdNet    // AvgGen, batch sampleChunk (built on first use)
	rng     *rand.Rand // the current iteration's random source
	ort     *ortState  // the ONNX Runtime executor kind (nil: the tape machine)
	// The update (update.go). accD sums the D gradients of the
	// micro-batches (and the G step's leak) since the last D step when the
	// recipe accumulates (nil otherwise); accPending says it holds a sum
	// (checkpoints keep it then). accG sums G's micro-batches
	// (GAccumulate > 1).
	accD, accG                map[string][]float32
	accPending                bool
	dAccNet, leakNet, gAccNet *sumGraph
	dUpd, gUpd                *updater
	// Test hooks: fixed interpolation weights, and a view of the clipped
	// gradients of each step ("dis", "gen").
	alpha     []float32
	gradsHook func(net string, grads map[string][]float32)
	// Test hooks replacing the draws of the augmentation parameters and
	// of the attention noise; role is "real", "fake", "pen" or "gen" for
	// augHook, "dis", "pen" or "gen" (D's nets) or "g/fake" and "g/gen"
	// (G's, noised families only) for noiseHook.
	augHook   func(role string, b int) *augment.Params
	noiseHook func(role string, n *gmodel.Net)
	// dSteppedHook runs between an iteration's D step and its G step.
	dSteppedHook func()

	// MT-CT (sr.go; nil unless Opts.SRWeight > 0).
	srNet *gradNet // G's SR path, batch DisBatch, cost = SRWeight * MSE

	ortDevice int // CUDA device of the ONNX Runtime executor (SetORTDevice)
	// ortDeviceState keeps the state in device tensors on the CPU
	// provider too (SetORTDeviceState; always so on CUDA).
	ortDeviceState bool
	// stateErr is a failed copy of the device state back to Go in
	// Checkpoint; the next Step returns it.
	stateErr error
}

// Stats describes one iteration.
type Stats struct {
	Iter        int64   `json:"iteration"`   // 0-based index of this iteration
	GStep       int     `json:"g_step"`      // G steps done after it
	Epoch       int     `json:"epoch"`       // data epoch (mask schedule)
	DLoss       float64 `json:"d_loss"`      // including the penalty term
	GP          float64 `json:"gp"`          // mean (||grad|| - phi)^2, unweighted
	DReal       float64 `json:"d_real"`      // mean D logit on real images
	DFake       float64 `json:"d_fake"`      // mean D logit on fakes
	Wasserstein float64 `json:"wasserstein"` // DReal - DFake
	DGradNorm   float64 `json:"d_grad_norm"` // before clipping (0 without a D step)
	DStepped    bool    `json:"-"`           // a D optimizer step ended the iteration's accumulation
	GStepped    bool    `json:"-"`
	GLoss       float64 `json:"g_loss,omitempty"`
	GGradNorm   float64 `json:"g_grad_norm,omitempty"`
	SRLoss      float64 `json:"sr_loss,omitempty"` // MT-CT: unweighted MSE of the SR task
}

// New returns a Trainer with fresh weights (the official initialisation,
// drawn from opts.Seed) for cfg, reading batches from src.
func New(cfg *model.Config, opts Options, src dataset.Source) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts = opts.Defaults(cfg)
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if src != nil && src.ImageSize() != cfg.ImageSize {
		return nil, fmt.Errorf("dataset images are %dx%d, the model makes %dx%d", src.ImageSize(), src.ImageSize(), cfg.ImageSize, cfg.ImageSize)
	}
	policy, _ := augment.ParsePolicy(opts.Augment)
	if err := policy.Check(cfg.ImageSize, cfg.ImageSize); err != nil {
		return nil, err
	}
	t := &Trainer{
		Config: cfg, Opts: opts, policy: policy,
		Gen: model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(mix(opts.Seed, -1)))),
		Dis: model.InitWeights(cfg.DParams(), rand.New(rand.NewSource(mix(opts.Seed, -2)))),
	}
	t.AvgGen = t.Gen.Clone()
	if src != nil {
		t.Loader = dataset.NewLoader(src, mix(opts.Seed, -3))
	}
	t.FixedZ = randn(rand.New(rand.NewSource(mix(opts.Seed, -4))), opts.Samples*cfg.LatentDim)
	t.real = make([]float32, opts.DisBatch*3*cfg.ImageSize*cfg.ImageSize)
	if err := t.build(); err != nil {
		return nil, err
	}
	t.OptG = NewAdam(opts.LRG, opts.Beta1, opts.Beta2, opts.AdamEps, t.Gen, t.gTrain.names)
	t.OptD = NewAdam(opts.LRD, opts.Beta1, opts.Beta2, opts.AdamEps, t.Dis, t.dTrain.names)
	if err := t.initSR(); err != nil {
		return nil, err
	}
	t.buildUpdate()
	if err := t.reopen(); err != nil { // every graph on the tape machine
		return nil, err
	}
	return t, nil
}

// build creates the graphs; they share the weight tensors of t and run on
// the tape machine until UseExecutor picks another executor.
func (t *Trainer) build() error {
	cfg, o := t.Config, t.Opts
	aug := len(t.policy.Ops) > 0
	g, err := gmodel.BuildGenerator(cfg, t.Gen, o.DisBatch)
	if err != nil {
		return err
	}
	t.gFwd = &fwdNet{name: "g_forward", net: g}
	if t.dTrain, err = buildDStep(cfg, o, t.Dis, aug); err != nil {
		return fmt.Errorf("D step graph: %w", err)
	}
	if t.gTrain, err = buildGStep(cfg, o, t.Gen, t.Dis, aug); err != nil {
		return fmt.Errorf("G step graph: %w", err)
	}
	if o.hasGP() {
		if t.pen, err = buildPenalty(cfg, o, t.Dis, aug); err != nil {
			return err
		}
	}
	return nil
}

// sampleAug draws b samples' DiffAugment parameters from the iteration's
// source (or the test hook).
func (t *Trainer) sampleAug(role string, b int) *augment.Params {
	if t.augHook != nil {
		return t.augHook(role, b)
	}
	S := t.Config.ImageSize
	return augment.Sample(t.policy, b, 3, S, S, t.rng)
}

// drawNoise draws n's attention noise from the iteration's source (or the
// test hook). Nets without noised attentions draw nothing.
func (t *Trainer) drawNoise(role string, n *gmodel.Net) {
	if len(n.NoiseSites()) == 0 {
		return
	}
	if t.noiseHook != nil {
		t.noiseHook(role, n)
		return
	}
	n.SetNoise(t.rng)
}

// Epoch is the epoch that the v1 mask schedule sees at the next iteration.
func (t *Trainer) Epoch() int {
	if t.Opts.MaskEpochSteps > 0 {
		return int(t.Iter / int64(t.Opts.MaskEpochSteps))
	}
	if t.Loader == nil {
		return 0
	}
	return t.Loader.Epoch()
}

// Step runs one iteration on the next real batch from the Loader.
func (t *Trainer) Step() (Stats, error) {
	if t.Loader == nil {
		return Stats{}, errors.New("trainer has no dataset")
	}
	if err := t.Loader.NextInto(t.real); err != nil {
		return Stats{}, err
	}
	return t.StepOn(t.real)
}

// StepOn runs one iteration with the given real batch [DisBatch, 3, S, S]:
// one D micro-batch, a D optimizer step when it completes Accumulate of
// them, and a G step (GAccumulate micro-batches) every NCritic*Accumulate
// iterations. Every random draw comes from a source seeded by
// (Opts.Seed, Iter), in this order on every executor:
//
//  1. the fakes' z [DisBatch, latent];
//  2. G's attention noise of the fakes' forward (noised G families:
//     per site in forward order, [DisBatch, N] in image-token order);
//  3. DiffAugment of the real batch, then of the fakes;
//  4. D's attention noise of the D pass (real then fake samples);
//  5. with the penalty: the DisBatch interpolation weights, the
//     interpolates' DiffAugment, D's attention noise of the penalty pass;
//  6. on a G step, per G micro-batch: z [GenBatch, latent], G's attention
//     noise, the fakes' DiffAugment, D's attention noise.
//
// G draws attention noise in training as the official code does (train
// and eval modes alike).
func (t *Trainer) StepOn(real []float32) (Stats, error) {
	rng := rand.New(rand.NewSource(mix(t.Opts.Seed, t.Iter)))
	return t.stepWith(real, rng, randn(rng, t.Opts.DisBatch*t.Config.LatentDim), nil)
}

// stepWith is StepOn with an explicit fake z (tests feed fixed tensors).
// zg, when set, replaces the G step's z (GAccumulate micro-batches of it).
//
// The counters follow the official loop with one iteration counter: D
// steps when (Iter+1) % Accumulate == 0, G when Iter % (NCritic*Accumulate)
// == 0, after the D step (so the G step sees the updated D). The official
// loop also restarts its D counter and drops a partial accumulation at
// each epoch start; tgan does not (its iterations do not follow epochs).
func (t *Trainer) stepWith(real []float32, rng *rand.Rand, z, zg []float32) (Stats, error) {
	if err := t.stateErr; err != nil {
		return Stats{}, err
	}
	o := t.Opts
	t.rng = rng
	st := Stats{Iter: t.Iter, Epoch: t.Epoch()}
	t.gFwd.net.SetEpoch(st.Epoch)
	t.gTrain.net.SetEpoch(st.Epoch)
	if err := t.dMicroBatch(real, z, &st); err != nil {
		return st, err
	}
	if err := t.dStep(&st); err != nil {
		return st, err
	}
	if t.dSteppedHook != nil {
		t.dSteppedHook()
	}
	if t.Iter%int64(o.NCritic*o.Accumulate) == 0 { // the G step sees the updated D, as in the official loop
		if err := t.gStep(zg, real, &st); err != nil {
			return st, err
		}
		t.GSteps++
	}
	st.GStep = t.GSteps
	t.Iter++
	return st, nil
}

// dMicroBatch runs D's loss (and the penalty) on one micro-batch: real
// and G(z). The gradients stay in the graphs' buffers (t.dSources).
func (t *Trainer) dMicroBatch(real, z []float32, st *Stats) error {
	o := t.Opts
	t.drawNoise("g/fake", t.gFwd.net)
	fake, err := t.gFwd.forward(z)
	if err != nil {
		return err
	}
	n := len(real)
	in := denseData(t.dTrain.input.Value())
	copy(in[:n], real)
	copy(in[n:], fake)
	t.dTrain.slot.set(t.sampleAug("real", o.DisBatch), t.sampleAug("fake", o.DisBatch))
	t.drawNoise("dis", t.dTrain.net)
	if err := t.dTrain.run(); err != nil {
		return fmt.Errorf("D step: %w", err)
	}
	st.DLoss, st.DReal, st.DFake = t.dTrain.costValue(), t.dTrain.stat(statReal), t.dTrain.stat(statFake)
	st.Wasserstein = st.DReal - st.DFake
	if t.pen != nil {
		gp, err := t.penalty(real, fake)
		if err != nil {
			return err
		}
		st.GP = gp
		st.DLoss += t.gpWeight() * gp
	}
	if !finite(st.DLoss) {
		return fmt.Errorf("iteration %d: D loss %v: %w", t.Iter, st.DLoss, ErrNonFinite)
	}
	return nil
}

// gpWeight is the penalty's weight in the D loss.
func (t *Trainer) gpWeight() float64 { return t.Opts.GPWeight / (t.Opts.Phi * t.Opts.Phi) }

// dStep adds the micro-batch's gradients to the accumulation (when the
// recipe accumulates) and, when it completes Accumulate micro-batches,
// clips the sum and updates D (update.go).
func (t *Trainer) dStep(st *Stats) error {
	o := t.Opts
	micro := []float32{1, float32(t.gpWeight())} // the D step's and the penalty's gradients
	if t.pen == nil {
		micro = micro[:1]
	}
	if t.accD != nil {
		inv := float32(1 / float64(o.Accumulate))
		for i := range micro {
			micro[i] *= inv
		}
		if err := t.accumulateD(t.dAccNet, micro...); err != nil {
			return err
		}
	}
	if (t.Iter+1)%int64(o.Accumulate) != 0 {
		return nil
	}
	scales := micro
	if t.accD != nil {
		scales, t.accPending = []float32{1}, false
	}
	norm, err := t.step(t.dUpd, t.OptD, scales, "dis", nil)
	st.DGradNorm = norm
	if err != nil {
		return fmt.Errorf("iteration %d: D loss %v, gradient norm %v: %w", t.Iter, st.DLoss, norm, err)
	}
	st.DStepped = true
	return nil
}

// penalty returns the WGAN-GP penalty on interpolates of real and fake;
// its gradient with respect to D's weights stays in the graph's buffers.
func (t *Trainer) penalty(real, fake []float32) (float64, error) {
	o, S, rng := t.Opts, t.Config.ImageSize, t.rng
	per := 3 * S * S
	xhat := denseData(t.pen.input.Value())
	for b := 0; b < o.DisBatch; b++ {
		a := float32(rng.Float64())
		if t.alpha != nil {
			a = t.alpha[b]
		}
		for i := b * per; i < (b+1)*per; i++ {
			xhat[i] = a*real[i] + (1-a)*fake[i]
		}
	}
	t.pen.slot.set(t.sampleAug("pen", o.DisBatch))
	t.drawNoise("pen", t.pen.net)
	if err := t.pen.run(); err != nil {
		return 0, fmt.Errorf("gradient penalty: %w", err)
	}
	return t.pen.costValue(), nil
}

// gStep runs GAccumulate G micro-batches (z from zg, else fresh draws;
// each loss scaled 1/GAccumulate), summing their gradients when there is
// more than one; with GradLeak, D's gradients of the same losses go into
// the next D step's accumulation. With MT-CT on, the SR task on the real
// batch adds its gradients (G's and sr_embed's) before the joint
// clipping. Then G (and sr_embed) take their Adam step and AvgGen its EMA
// step.
func (t *Trainer) gStep(zg, real []float32, st *Stats) error {
	o := t.Opts
	n, per := o.GAccumulate, o.GenBatch*t.Config.LatentDim
	scale := float32(1 / float64(n))
	st.GLoss = 0
	for j := 0; j < n; j++ {
		t.gTrain.setInput(randOr(zg, j*per, per, t.rng))
		t.drawNoise("g/gen", t.gTrain.net)
		t.gTrain.slot.set(t.sampleAug("gen", o.GenBatch))
		t.drawNoise("gen", t.gTrain.dNet)
		if err := t.gTrain.run(); err != nil {
			return fmt.Errorf("G step: %w", err)
		}
		st.GLoss += t.gTrain.costValue() * float64(scale)
		if t.gAccNet != nil {
			if err := t.gAccNet.set(map[string]float32{"keep": float32(min(j, 1))}); err != nil {
				return err
			}
			if err := t.gAccNet.setScales(scale); err != nil {
				return err
			}
			if err := t.gAccNet.run(); err != nil {
				return err
			}
		}
		if o.GradLeak {
			if err := t.accumulateD(t.leakNet, scale); err != nil {
				return err
			}
		}
	}
	if t.srNet != nil {
		sl, err := t.srStep(real, st.Epoch)
		if err != nil {
			return err
		}
		st.SRLoss = sl
	}
	if !finite(st.GLoss) || !finite(st.SRLoss) {
		return fmt.Errorf("iteration %d: G loss %v, SR loss %v: %w", t.Iter, st.GLoss, st.SRLoss, ErrNonFinite)
	}
	scales := []float32{1, 1}[:len(t.gUpd.sources)] // G's (summed) gradients, the SR task's
	norm, err := t.step(t.gUpd, t.OptG, scales, "gen", map[string]float32{"beta": float32(t.emaBeta())})
	st.GGradNorm = norm
	if err != nil {
		return fmt.Errorf("iteration %d: G loss %v, gradient norm %v: %w", t.Iter, st.GLoss, norm, err)
	}
	if t.OptSR != nil {
		t.OptSR.Step = t.OptG.Step // sr_embed steps with G (update.go)
	}
	st.GStepped = true
	return nil
}

// emaBeta is the EMA decay of the current G step (GSteps done before it):
// a fixed beta, capped by the warm-up (1+t)/(10+t) with EMARamp (v1
// default), or the final code's schedule, whose half-life grows with the
// images seen so far (final default). All depend on counters the
// checkpoint holds, so a resumed run continues the same schedule.
func (t *Trainer) emaBeta() float64 {
	o := t.Opts
	beta := o.EMABeta
	if beta > 0 && o.EMARamp {
		step := float64(t.GSteps)
		beta = math.Min(beta, (1+step)/(10+step))
	}
	if beta <= 0 {
		nimg := o.EMAKimg * 1000
		if o.EMAWarmup != 0 {
			nimg = math.Min(nimg, float64(o.DisBatch)*float64(t.Iter)*o.EMAWarmup)
		}
		beta = math.Pow(0.5, float64(o.DisBatch)/math.Max(nimg, 1e-8))
	}
	return beta
}

// sampleChunk bounds the batch of the sampling generator: its activations
// stay allocated between grids, and for a 32x32 model one image's last-stage
// attention alone is 16 MB.
const sampleChunk = 8

// sampleNoiseStream seeds the attention noise of the sample grids.
const sampleNoiseStream = -6 // -1..-5: G, D, loader, FixedZ, SR weights

// Samples returns AvgGen's images for FixedZ, [Opts.Samples, 3, S, S],
// generated sampleChunk at a time by an inference-only generator. A noised
// G family draws its attention noise (per chunk, as SetNoise orders it)
// from a source seeded by (Opts.Seed, sampleNoiseStream) afresh at every
// call, so grids of one run differ only by the weights.
func (t *Trainer) Samples() ([]float32, error) {
	n, dim := t.Opts.Samples, t.Config.LatentDim
	chunk := min(n, sampleChunk)
	if t.sampler == nil {
		s, err := gmodel.BuildGenerator(t.Config, t.AvgGen, chunk, gmodel.Inference())
		if err != nil {
			return nil, err
		}
		f := &fwdNet{name: "sampler", net: s}
		if f.exec, err = t.openExecutor(f.name, f); err != nil {
			return nil, err
		}
		t.sampler = f
	}
	per := 3 * t.Config.ImageSize * t.Config.ImageSize
	out := make([]float32, 0, n*per)
	z := make([]float32, chunk*dim)
	noise := rand.New(rand.NewSource(mix(t.Opts.Seed, sampleNoiseStream)))
	for start := 0; start < n; start += chunk {
		k := min(chunk, n-start)
		clear(z)
		copy(z, t.FixedZ[start*dim:(start+k)*dim])
		t.sampler.net.SetNoise(noise)
		img, err := t.sampler.forward(z)
		if err != nil {
			return nil, err
		}
		out = append(out, img[:k*per]...)
	}
	return out, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func randn(rng *rand.Rand, n int) []float32 {
	z := make([]float32, n)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	return z
}

// mix derives an independent 63-bit seed from (seed, stream) (splitmix64).
func mix(seed, stream int64) int64 {
	x := uint64(seed)*0x9E3779B97F4A7C15 + uint64(stream)
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return int64(x >> 1)
}
