package trainer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/augment"
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
	for _, tt := range w {
		for i := range tt.F32 {
			tt.F32[i] += float32(0.2 * rng.NormFloat64())
		}
	}
	d, err := gmodel.BuildDiscriminator(cfg, w, batch)
	if err != nil {
		t.Fatal(err)
	}
	pen, err := buildPenalty(d, 1)
	if err != nil {
		t.Fatal(err)
	}
	S := cfg.ImageSize
	policy, _ := augment.ParsePolicy("translation,cutout,color")
	policy.CutoutProb = 1
	p := augment.Sample(policy, batch, 3, S, S, rng)
	pen.slot.p = p
	x := make([]float32, batch*3*S*S)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	pen.setInput(augment.Apply(p, x))
	d.SetNoise(rng)
	run := func() float64 {
		if err := pen.run(); err != nil {
			t.Fatal(err)
		}
		return float64(denseData(pen.cost.Value())[0])
	}
	base := run()
	sym := pen.paramGrads()
	if base == 0 {
		t.Fatal("penalty is zero")
	}
	const eps = 1e-2
	checked := 0
	for _, name := range pen.names {
		v := w[name].F32
		for j := 0; j < len(v); j += 1 + len(v)/3 {
			old := v[j]
			v[j] = old + eps
			up := run()
			v[j] = old - eps
			down := run()
			v[j] = old
			num := (up - down) / (2 * eps)
			if d := math.Abs(num - float64(sym[name][j])); d > 3e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("d penalty / d %s[%d]: symbolic %.5f, finite differences %.5f", name, j, sym[name][j], num)
			}
			checked++
		}
	}
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
