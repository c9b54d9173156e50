package trainer

import (
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
