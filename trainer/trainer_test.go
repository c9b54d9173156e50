package trainer

import (
	"testing"
	"time"

	"github.com/tgan-dev/tgan/model"
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

func TestTinyStepTime(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	cfg, _ := model.Preset("tiny")
	tr, err := New(cfg, Options{Seed: 1}, newSynth(64, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		start := time.Now()
		st, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("iter %d g=%v %v d=%.4f gp=%.4f", i, st.GStepped, time.Since(start), st.DLoss, st.GP)
	}
}
