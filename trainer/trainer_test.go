package trainer

import (
	"math"
	"testing"
)

func TestStepsRun(t *testing.T) {
	for _, loss := range Losses() {
		t.Run(loss, func(t *testing.T) {
			cfg := microConfig(t)
			o := microOptions()
			o.Loss = loss
			tr, err := New(cfg, o, newSynth(10, cfg.ImageSize))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				st, err := tr.Step()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%+v", st)
			}
			if tr.GSteps != 2 {
				t.Errorf("G steps %d, want 2", tr.GSteps)
			}
		})
	}
}

// TestEMA: the final schedule's first update copies G; the v1 beta mixes.
func TestEMA(t *testing.T) {
	cfg := microConfig(t)
	o := microOptions()
	o.EMABeta = -1
	tr, err := New(cfg, o, newSynth(10, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	if d, at := maxDiff(tr.Gen, tr.AvgGen); d != 0 {
		t.Errorf("final schedule: EMA after the first G step differs from G by %g (%s)", d, at)
	}
	o.EMABeta = 0.9
	tr, _ = New(cfg, o, newSynth(10, cfg.ImageSize))
	before := tr.AvgGen.Clone()
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	name := "l1.weight"
	for i, g := range tr.Gen[name].F32[:10] {
		want := 0.9*before[name].F32[i] + 0.1*g
		if d := tr.AvgGen[name].F32[i] - want; d > 1e-7 || d < -1e-7 {
			t.Fatalf("fixed beta: ema %g, want %g", tr.AvgGen[name].F32[i], want)
		}
	}
}

// TestEMAWarmup: v1's default decay follows (1+t)/(10+t) at G step t up to
// 0.999; a fixed --ema-beta (Options.EMABeta set) has no warm-up; an old
// checkpoint's options (ema_beta 0.999 without ema_ramp) stay fixed.
func TestEMAWarmup(t *testing.T) {
	cfg := microConfig(t)
	def := microOptions().Defaults(cfg)
	if !def.EMARamp || def.EMABeta != 0.999 {
		t.Fatalf("v1 defaults: ema_beta %v, ema_ramp %v; want 0.999 with the ramp", def.EMABeta, def.EMARamp)
	}
	fixed := microOptions()
	fixed.EMABeta = 0.999
	fixed = fixed.Defaults(cfg)
	for _, c := range []struct {
		opts  Options
		steps int
		want  float64
	}{
		{def, 0, 0.1}, {def, 5, 6.0 / 15}, {def, 990, 991.0 / 1000}, {def, 8990, 0.999}, {def, 20000, 0.999},
		{fixed, 0, 0.999}, {fixed, 5, 0.999},
	} {
		tr := &Trainer{Opts: c.opts, GSteps: c.steps}
		if got := tr.emaBeta(); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("ema_ramp %v, G step %d: beta %v, want %v", c.opts.EMARamp, c.steps, got, c.want)
		}
	}
	// The first update of the default mixes G in with weight 0.9.
	tr, err := New(cfg, microOptions(), newSynth(10, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	before := tr.AvgGen.Clone()
	if _, err := tr.Step(); err != nil {
		t.Fatal(err)
	}
	name := "l1.weight"
	for i, g := range tr.Gen[name].F32[:10] {
		want := 0.1*before[name].F32[i] + 0.9*g
		if d := tr.AvgGen[name].F32[i] - want; d > 1e-6 || d < -1e-6 {
			t.Fatalf("warm-up: ema %g, want %g", tr.AvgGen[name].F32[i], want)
		}
	}
}
