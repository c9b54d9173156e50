package trainer

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/data/augment"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// draws is a fixed pool of per-sample random draws (augmentation and D's
// attention noise) that a run of any micro-batch size slices in order: the
// k-th call for a role with batch b gets samples [k*b, (k+1)*b) of the
// pool. A batch of 8 and four micro-batches of 2 thus see the same draws.
type draws struct {
	policy augment.Policy
	size   int
	aug    map[string]*augment.Params // per role, poolSize samples
	calls  map[string]int
}

const poolSize = 8

func newDraws(t *testing.T, policy string, size int) *draws {
	p, err := augment.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	d := &draws{policy: p, size: size, aug: map[string]*augment.Params{}, calls: map[string]int{}}
	for _, role := range []string{"real", "fake", "pen", "gen"} {
		d.aug[role] = augment.Sample(p, poolSize, 3, size, size, rand.New(rand.NewSource(int64(seedOf(role)))))
	}
	return d
}

func seedOf(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// hook installs the pool's draws into tr.
func (d *draws) hook(t *testing.T, tr *Trainer) {
	tr.augHook = func(role string, b int) *augment.Params {
		k := d.calls["aug/"+role]
		d.calls["aug/"+role]++
		return sliceParams(t, d.aug[role], k*b, (k+1)*b)
	}
	tr.noiseHook = func(role string, n *gmodel.Net) {
		k := d.calls["noise/"+role]
		d.calls["noise/"+role]++
		if err := n.SetNoiseDraws(d.noise(role, n, k)); err != nil {
			t.Fatal(err)
		}
	}
}

// noise returns call k's draws for net n: per site, per sample, the pool's
// draws of that sample ("dis" nets hold the real samples, then the fakes).
func (d *draws) noise(role string, n *gmodel.Net, k int) []float32 {
	var out []float32
	for si, s := range n.NoiseSites() {
		roles, b := []string{role}, n.Batch
		if role == "dis" {
			roles, b = []string{"real", "fake"}, n.Batch/2
		}
		for _, r := range roles {
			for i := k * b; i < (k+1)*b; i++ {
				rng := rand.New(rand.NewSource(int64(seedOf(r))*1000 + int64(si)*100 + int64(i)))
				out = append(out, randn(rng, s.Tokens)...)
			}
		}
	}
	return out
}

// sliceParams returns samples [lo, hi) of per-sample parameters.
func sliceParams(t *testing.T, p *augment.Params, lo, hi int) *augment.Params {
	out := &augment.Params{B: hi - lo, C: p.C, H: p.H, W: p.W}
	for _, s := range p.Steps {
		switch s := s.(type) {
		case *augment.Color:
			out.Steps = append(out.Steps, &augment.Color{Brightness: s.Brightness[lo:hi], Saturation: s.Saturation[lo:hi], Contrast: s.Contrast[lo:hi]})
		case *augment.Translation:
			out.Steps = append(out.Steps, &augment.Translation{DY: s.DY[lo:hi], DX: s.DX[lo:hi]})
		default:
			t.Fatalf("sliceParams: %T is not per-sample", s)
		}
	}
	return out
}

// recordGrads keeps copies of every hooked gradient, per net, per call.
func recordGrads(tr *Trainer) map[string][]map[string][]float32 {
	rec := map[string][]map[string][]float32{}
	tr.gradsHook = func(net string, g map[string][]float32) {
		c := map[string][]float32{}
		for k, v := range g {
			c[k] = append([]float32(nil), v...)
		}
		rec[net] = append(rec[net], c)
	}
	return rec
}

// TestAccumulateEqualsBigBatch: four D micro-batches of 2 (Accumulate 4)
// and four G micro-batches of 2 (GAccumulate 4) give the gradients, losses
// and norms of one batch of 8, on the same data, z, interpolation weights,
// augmentation and attention-noise draws, on the tape and on ONNX Runtime.
// With wgangp-eps the batch of 8 takes the drift per group of 2
// (DriftGroup 2) and each micro-batch over its whole 2: the official
// per-GPU drift. Learning rates are 0, so that every micro-batch sees the
// initial weights, as the single batch does.
func TestAccumulateEqualsBigBatch(t *testing.T) {
	for _, ex := range []string{ExecutorGorgonia, ExecutorORT} {
		for _, loss := range []string{LossWGANGP, LossWGANGPEps} {
			t.Run(ex+"/"+loss, func(t *testing.T) {
				if ex == ExecutorORT {
					requireORT(t)
				}
				accumulateVsBigBatch(t, ex, loss)
			})
		}
	}
}

func accumulateVsBigBatch(t *testing.T, ex, loss string) {
	cfg := finalMicroConfig(t)
	S, lat := cfg.ImageSize, cfg.LatentDim
	per := 3 * S * S
	rng := rand.New(rand.NewSource(3))
	var real []float32
	src := newSynth(poolSize, S)
	for i := 0; i < poolSize; i++ {
		img := make([]float32, per)
		src.Read(i, false, img)
		real = append(real, img...)
	}
	z, zg := randn(rng, poolSize*lat), randn(rng, poolSize*lat)
	alpha := make([]float32, poolSize)
	for i := range alpha {
		alpha[i] = rng.Float32()
	}
	type result struct {
		stats []Stats
		rec   map[string][]map[string][]float32
	}
	run := func(batch, acc int) result {
		o := Options{Loss: loss, DisBatch: batch, GenBatch: batch, NCritic: 1, Accumulate: acc, GAccumulate: acc,
			Augment: "translation,color", Samples: 1, Seed: 5}
		if loss == LossWGANGPEps && batch == poolSize {
			o.DriftGroup = 2
		}
		tr, err := New(cfg, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ex == ExecutorORT {
			ortOn(t, tr)
		}
		tr.OptD.LR, tr.OptG.LR = 0, 0
		newDraws(t, o.Augment, S).hook(t, tr)
		res := result{rec: recordGrads(tr)}
		for k := 0; k < acc; k++ {
			tr.alpha = alpha[k*batch : (k+1)*batch]
			st, err := tr.stepWith(real[k*batch*per:(k+1)*batch*per], rng, z[k*batch*lat:(k+1)*batch*lat], zg)
			if err != nil {
				t.Fatal(err)
			}
			if want := k == acc-1; st.DStepped != want || (tr.OptD.Step == 1) != want {
				t.Fatalf("micro-batch %d of %d: D stepped %v, Adam steps %d", k, acc, st.DStepped, tr.OptD.Step)
			}
			res.stats = append(res.stats, st)
		}
		return res
	}
	big, small := run(poolSize, 1), run(2, 4)
	worst := 0.0
	check := func(what string, e float64) {
		worst = math.Max(worst, e)
		if e > 1e-5 {
			t.Errorf("%s: relative error %.2g (limit 1e-5)", what, e)
		}
	}
	var dLoss, gp float64
	for _, st := range small.stats {
		dLoss += st.DLoss / 4
		gp += st.GP / 4
	}
	b, s := big.stats[0], small.stats
	check("d_loss", relDiff(dLoss, b.DLoss))
	check("gp", relDiff(gp, b.GP))
	check("g_loss", relDiff(s[0].GLoss, b.GLoss))
	check("|grad D|", relDiff(s[3].DGradNorm, b.DGradNorm))
	check("|grad G|", relDiff(s[0].GGradNorm, b.GGradNorm))
	for _, net := range []string{"dis", "gen"} {
		if len(big.rec[net]) != 1 || len(small.rec[net]) != 1 {
			t.Fatalf("%s: %d and %d optimizer steps, want 1 each", net, len(big.rec[net]), len(small.rec[net]))
		}
		floor := 1e-3 * netMax(big.rec[net][0])
		for name, want := range big.rec[net][0] {
			check(net+" grad "+name, floorErr(small.rec[net][0][name], want, floor))
		}
	}
	t.Logf("worst relative error %.2g (|grad D| %.4g, |grad G| %.4g)", worst, b.DGradNorm, b.GGradNorm)
}

// netMax is the largest |value| over a net's gradients.
func netMax(g map[string][]float32) float64 {
	m := 0.0
	for _, v := range g {
		for _, x := range v {
			m = math.Max(m, math.Abs(float64(x)))
		}
	}
	return m
}

// floorErr is tensorErr with the denominator at least floor: gradients
// that cancel to ~0 (wgangp's head and final-norm biases: -mean r + mean f
// through a linear head) are compared on the net's scale, not their own
// rounding noise.
func floorErr(got, want []float32, floor float64) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(float64(got[i])-float64(want[i])))
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	return num / math.Max(den, floor)
}

// TestAccumulateLeak: with GradLeak, the G step (two micro-batches) leaves
// in the D accumulation exactly sum_j (1/2) dL_G(z_j)/dθ_D, computed here
// independently (plain Gorgonia -mean(D(Aug(G(z_j)))) on the same draws);
// the next D step's gradient is the leak-free one plus that leak; ONNX
// Runtime's leak equals the tape's.
func TestAccumulateLeak(t *testing.T) {
	cfg := finalMicroConfig(t)
	o := Options{DisBatch: 2, GenBatch: 2, NCritic: 1, GAccumulate: 2, GradLeak: true, ClipNorm: -1,
		Augment: "translation,color", Samples: 1, Seed: 7}
	S, lat := cfg.ImageSize, cfg.LatentDim
	zg := randn(rand.New(rand.NewSource(9)), 2*o.GenBatch*lat)
	start := func(opts Options, ort bool) (*Trainer, map[string][]map[string][]float32) {
		tr, err := New(cfg, opts, newSynth(8, S))
		if err != nil {
			t.Fatal(err)
		}
		if ort {
			ortOn(t, tr)
		}
		newDraws(t, opts.Augment, S).hook(t, tr)
		tr.OptG.LR = 0 // G stays put: the second D step sees the same fakes in both runs
		return tr, recordGrads(tr)
	}
	step := func(tr *Trainer, real []float32) {
		if _, err := tr.stepWith(real, rand.New(rand.NewSource(tr.Iter)), randn(rand.New(rand.NewSource(100+tr.Iter)), o.DisBatch*lat), zg); err != nil {
			t.Fatal(err)
		}
	}
	real := make([]float32, o.DisBatch*3*S*S)
	newSynth(8, S).Read(1, false, real[:3*S*S])
	newSynth(8, S).Read(2, true, real[3*S*S:])
	tr, rec := start(o, false)
	gen0 := tr.Gen.Clone()
	step(tr, real)
	if tr.pendingAcc() == nil {
		t.Fatal("no leak in the D accumulation after the G step")
	}
	want := independentLeak(t, cfg, gen0, tr.Dis.Clone(), zg, o, newDraws(t, o.Augment, S))
	if len(want) != len(tr.dTrain.names) || len(tr.accD) != len(want) || netMax(want) == 0 {
		t.Fatalf("%d independent and %d accumulated leak gradients for D's %d parameters (largest %g)", len(want), len(tr.accD), len(tr.dTrain.names), netMax(want))
	}
	worst := 0.0
	for name, w := range want {
		e := tensorErr(tr.accD[name], w)
		worst = math.Max(worst, e)
		if e > 1e-5 {
			t.Errorf("leak %s: relative error %.2g", name, e)
		}
	}
	t.Logf("leak vs independent dL_G/dθ_D: worst relative error %.2g over %d tensors (largest |value| %.3g)", worst, len(want), netMax(want))
	leak := map[string][]float32{}
	for name, g := range tr.accD {
		leak[name] = append([]float32(nil), g...)
	}

	// The next D step = the leak-free run's D step + the leak.
	off := o
	off.GradLeak = false
	tr0, rec0 := start(off, false)
	step(tr0, real)
	step(tr, real)
	step(tr0, real)
	for name, g0 := range rec0["dis"][1] {
		sum := make([]float32, len(g0))
		for i := range sum {
			sum[i] = g0[i] + leak[name][i]
		}
		if e := tensorErr(rec["dis"][1][name], sum); e > 1e-5 {
			t.Errorf("second D step %s: relative error %.2g from the leak-free step plus the leak", name, e)
		}
	}

	t.Run("ort", func(t *testing.T) {
		requireORT(t)
		tr, _ := start(o, true)
		step(tr, real)
		for name, w := range leak {
			if e := tensorErr(tr.accD[name], w); e > 1e-5 {
				t.Errorf("ONNX Runtime leak %s: relative error %.2g from the tape's", name, e)
			}
		}
	})
}

// independentLeak computes sum_j (1/n) d(-mean D(Aug_j(G(z_j))))/dθ_D with
// its own G forward and D graph (no trainer code), on d's draws.
func independentLeak(t *testing.T, cfg *model.Config, gen, dis model.Weights, zg []float32, o Options, d *draws) map[string][]float32 {
	g, err := gmodel.BuildGenerator(cfg, gen, o.GenBatch)
	if err != nil {
		t.Fatal(err)
	}
	dn, err := gmodel.BuildDiscriminator(cfg, dis, o.GenBatch)
	if err != nil {
		t.Fatal(err)
	}
	cost := G.Must(G.Neg(G.Must(G.Mean(dn.Output))))
	var names []string
	var wrt G.Nodes
	for _, name := range sortedKeys(dn.Params) {
		names = append(names, name)
		wrt = append(wrt, dn.Params[name])
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(dn.Graph)
	defer vm.Close()
	n, per := o.GAccumulate, o.GenBatch*cfg.LatentDim
	out := map[string][]float32{}
	for j := 0; j < n; j++ {
		x, err := g.Forward(zg[j*per : (j+1)*per])
		if err != nil {
			t.Fatal(err)
		}
		copy(denseData(dn.Input.Value()), augment.Apply(sliceParams(t, d.aug["gen"], j*o.GenBatch, (j+1)*o.GenBatch), x))
		if err := dn.SetNoiseDraws(d.noise("gen", dn, j)); err != nil {
			t.Fatal(err)
		}
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for i, name := range names {
			v := denseData(grads[i].Value())
			if out[name] == nil {
				out[name] = make([]float32, len(v))
			}
			for k := range v {
				out[name][k] += v[k] / float32(n)
			}
		}
	}
	return out
}

// TestAccumulateResumeExact: a checkpoint written mid-accumulation (a
// D micro-batch and the G step's leak pending), saved to a file, loaded
// and resumed, continues exactly as the straight run.
func TestAccumulateResumeExact(t *testing.T) {
	cfg := microConfig(t)
	o := Options{DisBatch: 2, GenBatch: 2, NCritic: 1, Accumulate: 2, GAccumulate: 2, GradLeak: true, DriftGroup: 1, Samples: 2, Seed: 4}
	start := func() *Trainer {
		tr, err := New(cfg, o, newSynth(8, cfg.ImageSize))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	steps := func(tr *Trainer, n int) {
		for i := 0; i < n; i++ {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := start()
	steps(a, 7)
	b := start()
	steps(b, 3) // iterations 0-2: D stepped at 1; 2 holds its micro-batch and the G step's leak
	if b.pendingAcc() == nil {
		t.Fatal("no partial D gradients after iteration 2")
	}
	path := filepath.Join(t.TempDir(), "mid.safetensors")
	if err := checkpoint.Save(path, b.Checkpoint()); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := Resume(ck, newSynth(8, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	if b2.pendingAcc() == nil || len(b2.accD) != len(b.accD) {
		t.Fatalf("restored partial sum has %d tensors, want %d", len(b2.accD), len(b.accD))
	}
	for name, g := range b.accD {
		if e := tensorErr(b2.accD[name], g); e != 0 {
			t.Fatalf("restored partial sum %s differs by %g", name, e)
		}
	}
	steps(b2, 4)
	ca, cb := a.Checkpoint(), b2.Checkpoint()
	for _, p := range []struct {
		name string
		x, y model.Weights
	}{{"gen", ca.Gen, cb.Gen}, {"avg_gen", ca.AvgGen, cb.AvgGen}, {"dis", ca.Dis, cb.Dis}, {"extra", ca.Extra, cb.Extra}} {
		if d, at := maxDiff(p.x, p.y); d != 0 || len(p.x) != len(p.y) {
			t.Errorf("%s differs by %g (%s), %d and %d tensors", p.name, d, at, len(p.x), len(p.y))
		}
	}
	if ca.Meta[MetaState] != cb.Meta[MetaState] {
		t.Errorf("trainer state differs:\n%s\n%s", ca.Meta[MetaState], cb.Meta[MetaState])
	}
}

// TestAccumulateDriftGroups: wgangp-eps's drift per group of real logits
// is 1e-3 * mean over groups of (group mean)^2 (an independent float64
// sum here), the graph's gradient is that loss's derivative (central
// differences), ONNX Runtime computes the same graph, and group 0 or the
// whole batch is the square of the batch mean.
func TestAccumulateDriftGroups(t *testing.T) {
	const b = 8
	rng := rand.New(rand.NewSource(2))
	x := randn(rng, 2*b) // real then fake logits, spread like a trained D's
	for i := range x {
		x[i] = 3*x[i] + 1
	}
	want := func(v []float64, g int) float64 {
		r, f := v[:b], v[b:]
		l := 0.0
		for i := range r {
			l += (f[i] - r[i]) / b
		}
		for k := 0; k < b/g; k++ {
			m := 0.0
			for _, v := range r[k*g : (k+1)*g] {
				m += v / float64(g)
			}
			l += 1e-3 * m * m / float64(b/g)
		}
		return l
	}
	losses := map[int]float64{}
	for _, g := range []int{0, 1, 2, 4, b} {
		wg := g
		if g == 0 {
			wg = b
		}
		loss := checkLossGraph(t, fmt.Sprintf("group %d", g), x, func(v []float64) float64 { return want(v, wg) },
			func(n *G.Node) (*G.Node, error) {
				lt, err := dLossGraph(LossWGANGPEps, g, n)
				return lt.loss, err
			})
		losses[g] = loss
	}
	if whole, same, grouped := losses[0], losses[b], losses[2]; whole != same || math.Abs(grouped-whole) < 1e-4 {
		t.Errorf("whole-batch drift %v, group = batch %v, groups of 2 %v: want the first two equal, the third apart", whole, same, grouped)
	}
}

// TestParityAccumulateORTTape: four iterations with D micro-batches of 4
// (Accumulate 2), G micro-batches of 2 (GAccumulate 2), drift per group of
// 2 and the leak: the D steps (iterations 1 and 3, each with the leak of
// the G step before), the G steps (0 and 2), losses and norms of ONNX
// Runtime equal the tape's.
func TestParityAccumulateORTTape(t *testing.T) {
	requireORT(t)
	var stats [2][]Stats
	var recs [2]map[string][]map[string][]float32
	var dcost [2][]float64
	for i := range recs {
		o := Options{DisBatch: 4, GenBatch: 2, NCritic: 1, Accumulate: 2, GAccumulate: 2, DriftGroup: 2, GradLeak: true, Samples: 1, Seed: 3}
		tr, err := New(finalMicroConfig(t), o, newSynth(8, 8))
		if err != nil {
			t.Fatal(err)
		}
		tr.policy.CutoutProb = 1
		if i == 1 {
			ortOn(t, tr)
		}
		recs[i] = recordGrads(tr)
		for it := 0; it < 4; it++ {
			st, err := tr.Step()
			if err != nil {
				t.Fatal(err)
			}
			stats[i] = append(stats[i], st)
			dcost[i] = append(dcost[i], float64(tr.dTrain.costValue())) // ONNX's own loss value on ORT
		}
	}
	worst := 0.0
	check := func(what string, e float64) {
		worst = math.Max(worst, e)
		if e > 1e-5 {
			t.Errorf("%s: relative error %.2g (limit 1e-5)", what, e)
		}
	}
	for it := range stats[0] {
		a, b := stats[1][it], stats[0][it]
		for _, v := range []struct {
			name string
			a, b float64
		}{{"d_loss", a.DLoss, b.DLoss}, {"gp", a.GP, b.GP}, {"g_loss", a.GLoss, b.GLoss}, {"|grad D|", a.DGradNorm, b.DGradNorm},
			{"|grad G|", a.GGradNorm, b.GGradNorm}, {"D graph cost", dcost[1][it], dcost[0][it]}} {
			check("iteration "+itoa(it)+" "+v.name, relDiff(v.a, v.b))
		}
	}
	for _, net := range []string{"dis", "gen"} {
		if len(recs[0][net]) != 2 || len(recs[1][net]) != 2 {
			t.Fatalf("%s: %d and %d optimizer steps, want 2", net, len(recs[0][net]), len(recs[1][net]))
		}
		for k := range recs[0][net] {
			floor := 1e-3 * netMax(recs[0][net][k])
			for name, want := range recs[0][net][k] {
				check(net+" step "+itoa(k)+" grad "+name, floorErr(recs[1][net][k][name], want, floor))
			}
		}
	}
	t.Logf("worst relative error %.2g", worst)
}

// TestAccumulatePresetRecipes: the final families' presets bring their
// scripts' recipe (SPEC-hires 1.1, 2, 3, 5.1, 5.4), valid for their
// models; the STL EMA follows the warm-up formula with n_img = D batch x
// iterations; CelebA/Church's EMA is 0.995 from the first G step on, with
// no ramp and no initial copy.
func TestAccumulatePresetRecipes(t *testing.T) {
	type recipe struct{ dis, acc, gen, gacc, ncritic, drift int }
	for preset, want := range map[string]recipe{
		"final-stl":        {32, 1, 64, 1, 5, 4},
		"celeba-hq-256":    {16, 4, 32, 4, 4, 2},
		"church-256":       {16, 4, 16, 8, 4, 2},
		"final-cifar":      {64, 1, 128, 1, 4, 0},
		"final-cifar-norp": {64, 1, 128, 1, 4, 0},
	} {
		cfg, err := model.Preset(preset)
		if err != nil {
			t.Fatal(err)
		}
		o := PresetOptions(preset).Defaults(cfg)
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", preset, err)
		}
		got := recipe{o.DisBatch, o.Accumulate, o.GenBatch, o.GAccumulate, o.NCritic, o.DriftGroup}
		if got != want || !o.GradLeak || o.Loss != LossWGANGPEps || o.LRG != 1e-4 || o.Beta1 != 0 || o.Beta2 != 0.99 {
			t.Errorf("%s: recipe %+v, leak %v, loss %s; want %+v with the leak", preset, got, o.GradLeak, o.Loss, want)
		}
	}
	for preset, policy := range map[string]string{
		"final-stl":     "translation,stl_erase_ratio,color",
		"celeba-hq-256": "filter,translation,erase_ratio,color,hue",
		"church-256":    "translation,erase_ratio,color",
	} {
		if o := PresetOptions(preset); o.Augment != policy {
			t.Errorf("%s: augment %q, want %q", preset, o.Augment, policy)
		}
	}
	// Old presets and checkpoints: no accumulation, no leak, whole-batch drift.
	if o := PresetOptions("tiny").Defaults(microConfig(t)); o.Accumulate != 1 || o.GAccumulate != 1 || o.GradLeak || o.DriftGroup != 0 {
		t.Errorf("tiny: %+v", o)
	}

	stlCfg, _ := model.Preset("final-stl")
	stl := PresetOptions("final-stl").Defaults(stlCfg)
	for _, c := range []struct {
		iter int64
		want float64
	}{
		{0, 0}, // the first G step copies
		{1000, math.Pow(0.5, 32/(0.05*32*1000))},
		{100000, math.Pow(0.5, 32/(0.05*32*100000))},
		{312500, math.Pow(0.5, 32.0/500000)}, // warm-up ends: 0.99995564
		{2000000, math.Pow(0.5, 32.0/500000)},
	} {
		tr := &Trainer{Opts: stl, Iter: c.iter}
		if got := tr.emaBeta(); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("final-stl at iteration %d: EMA beta %.17g, want %.17g", c.iter, got, c.want)
		}
	}
	if b := (&Trainer{Opts: stl, Iter: 312500}).emaBeta(); math.Abs(b-0.99995564) > 1e-8 {
		t.Errorf("final-stl settled beta %.10f, SPEC-hires 5.4 gives 0.99995564", b)
	}
	for _, preset := range []string{"celeba-hq-256", "church-256"} {
		cfg, _ := model.Preset(preset)
		o := PresetOptions(preset).Defaults(cfg)
		for _, g := range []int{0, 1, 9, 100000} {
			if b := (&Trainer{Opts: o, GSteps: g, Iter: int64(16 * g)}).emaBeta(); b != 0.995 || o.EMARamp {
				t.Errorf("%s at G step %d: EMA beta %v (ramp %v), want 0.995 fixed", preset, g, b, o.EMARamp)
			}
		}
	}
	// The first G step with a fixed 0.995 mixes, it does not copy.
	o := microOptions()
	o.EMABeta, o.NCritic = 0.995, 1
	tr, err := New(finalMicroConfig(t), o, newSynth(8, 8))
	if err != nil {
		t.Fatal(err)
	}
	before := tr.AvgGen.Clone()
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	name := "l1.weight"
	for i, g := range tr.Gen[name].F32[:10] {
		want := 0.995*before[name].F32[i] + 0.005*g
		if d := tr.AvgGen[name].F32[i] - want; math.Abs(float64(d)) > 1e-7 || tr.AvgGen[name].F32[i] == g {
			t.Fatalf("fixed 0.995, first G step: ema %g, want %g (G %g)", tr.AvgGen[name].F32[i], want, g)
		}
	}
}

// TestAccumulateLoweredLeakHasCUDAKernels: with the leak and drift groups
// on, the lowered G step outputs every D parameter's gradient, and every
// operator of every training graph has a float32 CUDA kernel in ONNX
// Runtime's table (testdata/ort_cuda_ops.txt). No library needed.
func TestAccumulateLoweredLeakHasCUDAKernels(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "ort_cuda_ops.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cuda := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			cuda[f[0]] = true
		}
	}
	o := Options{DisBatch: 4, GenBatch: 2, NCritic: 1, Accumulate: 2, GAccumulate: 2, DriftGroup: 2, GradLeak: true, Samples: 1}
	tr, err := New(finalMicroConfig(t), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tr.runners() {
		l, _, err := tr.lowerGraph(r.name, r.g)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Model(); err != nil {
			t.Fatal(err)
		}
		for _, pair := range strings.Fields(l.G.OpCounts()) {
			if op := pair[:strings.LastIndex(pair, ":")]; !cuda[op] {
				t.Errorf("%s graph: %s has no float32 CUDA kernel in the table", r.name, op)
			}
		}
		if r.name != "g_step" {
			continue
		}
		n := 0
		for _, out := range l.Outputs() {
			if strings.HasPrefix(out, leakPrefix) {
				n++
			}
		}
		if n != len(tr.dTrain.names) || n != len(tr.gTrain.leak) {
			t.Errorf("g_step graph: %d leak outputs for D's %d parameters (%d leak nodes)", n, len(tr.dTrain.names), len(tr.gTrain.leak))
		}
	}
}
