package trainer

import (
	"maps"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/internal/data/augment"
	"github.com/tgan-dev/tgan/internal/testkit/fdcheck"
	"github.com/tgan-dev/tgan/model"
)

// TestPenaltyGradient checks the WGAN-GP penalty's gradient with respect
// to D's weights (double backprop, through DiffAugment's transpose) against
// central finite differences of the penalty, for both D kinds.
func TestPenaltyGradient(t *testing.T) {
	for _, kind := range []model.DKind{model.DViT, model.DScale2} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := microConfig(t)
			if kind == model.DScale2 {
				cfg.DKind, cfg.DRelPos = model.DScale2, true
			}
			checkPenalty(t, cfg)
		})
	}
}

func checkPenalty(t *testing.T, cfg *model.Config) {
	const batch = 2
	rng := rand.New(rand.NewSource(4))
	w := model.InitWeights(cfg.DParams(), rng)
	for _, name := range slices.Sorted(maps.Keys(w)) { // a fixed order: the same weights every run
		tt := w[name]
		for i := range tt.F32 {
			tt.F32[i] += float32(0.2 * rng.NormFloat64())
		}
	}
	pen, err := buildPenalty(cfg, Options{DisBatch: batch, Phi: 1}, w, true)
	if err != nil {
		t.Fatal(err)
	}
	pen.exec = newTapeExecutor(pen)
	S := cfg.ImageSize
	policy, _ := augment.ParsePolicy("translation,cutout,color")
	policy.CutoutProb = 1
	pen.slot.set(augment.Sample(policy, batch, 3, S, S, rng))
	x := make([]float32, batch*3*S*S)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	pen.setInput(x)
	pen.net.SetNoise(rng)
	run := func() float64 {
		if err := pen.run(); err != nil {
			t.Fatal(err)
		}
		return pen.costValue()
	}
	base := run()
	sym := pen.paramGrads()
	if base == 0 {
		t.Fatal("penalty is zero")
	}
	inputs := make([]fdcheck.Input, len(pen.names))
	for i, name := range pen.names {
		inputs[i] = fdcheck.Input{Name: name, Values: w[name].F32, Grad: sym[name]}
	}
	checked := fdcheck.Check(t, inputs, run, fdcheck.Options{Samples: 3})
	t.Logf("penalty %.4f, %d derivatives checked over %d tensors", base, checked, len(pen.names))
}

// TestAugOpAdjoint checks that the graph's augmentation op pair are
// transposes of each other: <T(g), v> == <g, L(v)>.
func TestAugOpAdjoint(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	policy, _ := augment.ParsePolicy("translation,cutout,color")
	policy.CutoutProb = 1
	p := augment.Sample(policy, 2, 3, 6, 6, rng)
	g, v := randn(rng, 2*3*36), randn(rng, 2*3*36)
	lhs, rhs := 0.0, 0.0
	tg, lv := augment.ApplyTranspose(p, g), augment.ApplyLinear(p, v)
	for i := range g {
		lhs += float64(tg[i]) * float64(v[i])
		rhs += float64(g[i]) * float64(lv[i])
	}
	if math.Abs(lhs-rhs) > 1e-3*math.Max(1, math.Abs(lhs)) {
		t.Fatalf("<T g, v> = %v, <g, L v> = %v", lhs, rhs)
	}
}
