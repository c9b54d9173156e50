package trainer

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/model"
)

// srBatch is a fixed real batch [DisBatch, 3, S, S] of the micro config.
func srBatch(cfg *model.Config, o Options) []float32 {
	s := newSynth(o.DisBatch, cfg.ImageSize)
	per := 3 * cfg.ImageSize * cfg.ImageSize
	real := make([]float32, o.DisBatch*per)
	for b := 0; b < o.DisBatch; b++ {
		s.Read(b, false, real[b*per:(b+1)*per])
	}
	return real
}

// TestSRGradMatchesFiniteDifferences: the gradient of SRWeight * MSE with
// respect to sr_embed and G weights (masked epoch) matches central
// differences.
func TestSRGradMatchesFiniteDifferences(t *testing.T) {
	cfg := microConfig(t)
	o := microOptions()
	o.SRWeight = 2.5
	tr, err := New(cfg, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(9))
	for _, w := range []model.Weights{tr.Gen, tr.SR} { // large enough that every tensor matters
		for _, name := range slices.Sorted(maps.Keys(w)) { // a fixed order: the same weights every run
			for i := range w[name].F32 {
				w[name].F32[i] += float32(0.2 * rng.NormFloat64())
			}
		}
	}
	real := srBatch(cfg, tr.Opts)
	const epoch = 0 // the locality mask is on
	if _, err := tr.srStep(real, epoch); err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float32{} // the buffers: copied before the loss runs again
	for k, v := range tr.srNet.paramGrads() {
		grads[k] = append([]float32(nil), v...)
	}
	if _, ok := grads[model.GL1W]; ok {
		t.Error("the SR task has a gradient for l1, which it does not use")
	}
	loss := func() float64 {
		mse, err := tr.srStep(real, epoch)
		if err != nil {
			t.Fatal(err)
		}
		return o.SRWeight * mse
	}
	last := cfg.GBlocks()[len(cfg.GBlocks())-1][0]
	checked := 0
	for _, c := range []struct {
		w    model.Weights
		name string
	}{
		{tr.SR, gmodel.SREmbedW}, {tr.SR, gmodel.SREmbedB},
		{tr.Gen, model.GPosEmbed(0)}, {tr.Gen, cfg.GBlocks()[0][0].FC1W()},
		{tr.Gen, last.QKV()}, {tr.Gen, model.GDeconvW},
	} {
		p, g := c.w[c.name].F32, grads[c.name]
		if len(g) != len(p) {
			t.Fatalf("%s: %d gradient values for %d weights", c.name, len(g), len(p))
		}
		for k := 0; k < 4; k++ {
			i := rng.Intn(len(p))
			const eps = 1e-2
			v := p[i]
			p[i] = v + eps
			up := loss()
			p[i] = v - eps
			down := loss()
			p[i] = v
			num := (up - down) / (2 * eps)
			if d := math.Abs(num - float64(g[i])); d > 2e-3+3e-2*math.Abs(num) {
				t.Errorf("%s[%d]: gradient %g, finite differences %g", c.name, i, g[i], num)
			}
			checked++
		}
	}
	t.Logf("%d gradient entries checked", checked)
}

// TestSROffUnchanged: without the option (SRWeight 0) nothing of MT-CT
// exists or runs: no tensors, no graph, the checkpoint and its state JSON
// are those of a trainer without the option, and one step gives the same
// bits as a trainer whose options never mention it. (Checked once by hand
// against the code before MT-CT: 4 iterations of the micro run gave
// byte-identical weights, EMA, Adam moments and state.)
func TestSROffUnchanged(t *testing.T) {
	cfg := microConfig(t)
	var trs []*Trainer
	for _, opts := range []Options{microOptions(), func() Options { o := microOptions(); o.SRWeight = 0; return o }()} {
		tr, err := New(cfg, opts, newSynth(6, cfg.ImageSize))
		if err != nil {
			t.Fatal(err)
		}
		if tr.SR != nil || tr.OptSR != nil || tr.srNet != nil {
			t.Fatal("SR state exists with the option off")
		}
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if st.SRLoss != 0 {
			t.Errorf("SR loss %g with the option off", st.SRLoss)
		}
		if b, _ := json.Marshal(st); strings.Contains(string(b), "sr_") {
			t.Errorf("stats mention SR: %s", b)
		}
		trs = append(trs, tr)
	}
	a, b := trs[0].Checkpoint(), trs[1].Checkpoint()
	for k := range a.Extra {
		if strings.HasPrefix(k, srPrefix) || strings.HasPrefix(k, srOptPrefix) {
			t.Errorf("checkpoint holds %s with the option off", k)
		}
	}
	if strings.Contains(a.Meta[MetaState], "sr_") {
		t.Errorf("state JSON mentions SR: %s", a.Meta[MetaState])
	}
	for _, p := range []struct{ x, y model.Weights }{{a.Gen, b.Gen}, {a.AvgGen, b.AvgGen}, {a.Dis, b.Dis}, {a.Extra, b.Extra}} {
		if d, at := maxDiff(p.x, p.y); d != 0 {
			t.Errorf("%s differs by %g", at, d)
		}
	}
}

// TestSRLossDecreases: 20 G steps on one fixed batch with MT-CT on lower
// the SR loss; sr_embed and G both move.
func TestSRLossDecreases(t *testing.T) {
	cfg := microConfig(t)
	o := microOptions()
	o.SRWeight, o.NCritic, o.LRG = 10, 1, 1e-3
	tr, err := New(cfg, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	real := srBatch(cfg, tr.Opts)
	emb := append([]float32(nil), tr.SR[gmodel.SREmbedW].F32...)
	var first, last float64
	for i := 0; i < 20; i++ {
		st, err := tr.StepOn(real)
		if err != nil {
			t.Fatal(err)
		}
		if !st.GStepped || st.SRLoss <= 0 || !finite(st.SRLoss) {
			t.Fatalf("step %d: %+v", i, st)
		}
		if i == 0 {
			first = st.SRLoss
		}
		last = st.SRLoss
	}
	t.Logf("SR loss %.4f -> %.4f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("SR loss went from %g to %g in 20 steps on one batch", first, last)
	}
	if tr.OptSR.Step != tr.OptG.Step {
		t.Errorf("sr_embed took %d Adam steps, G %d", tr.OptSR.Step, tr.OptG.Step)
	}
	moved := false
	for i, v := range tr.SR[gmodel.SREmbedW].F32 {
		moved = moved || v != emb[i]
	}
	if !moved {
		t.Error("sr_embed did not change")
	}
}

func TestSRWeightValidation(t *testing.T) {
	cfg := microConfig(t)
	for _, w := range []float64{-1, math.NaN(), math.Inf(1)} {
		o := microOptions()
		o.SRWeight = w
		if _, err := New(cfg, o, nil); err == nil || !strings.Contains(err.Error(), "sr_weight") {
			t.Errorf("sr_weight %v: got %v", w, err)
		}
	}
}

// BenchmarkSRIteration times one tiny iteration (D step with penalty and a
// G step, batch 16) without and with MT-CT: the SR task adds a G forward
// and backward at the D batch to every G step.
func BenchmarkSRIteration(b *testing.B) {
	for _, w := range []float64{0, 1} {
		b.Run(fmt.Sprintf("sr_weight=%g", w), func(b *testing.B) {
			cfg, err := model.Preset("tiny")
			if err != nil {
				b.Fatal(err)
			}
			tr, err := New(cfg, Options{DisBatch: 16, GenBatch: 16, NCritic: 1, Samples: 1, Seed: 1, SRWeight: w}, newSynth(32, cfg.ImageSize))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tr.Step(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tr.Step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
