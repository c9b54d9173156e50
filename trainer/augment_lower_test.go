package trainer

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/data/augment"
	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// TestParityLoweredAugment runs the ONNX lowering of the DiffAugment op
// (augOp) on ONNX Runtime and compares Apply, ApplyLinear and
// ApplyTranspose with internal/data/augment, for the same draws, over the zoo's
// policies: every operation, including erase and filter, drawn and not
// drawn, with one set of draws for the batch or two (the D step's real and
// fake halves).
func TestParityLoweredAugment(t *testing.T) {
	requireORT(t)
	const b, S = 4, 24
	policies := []string{
		"translation,cutout,color",
		"translation,stl_erase_ratio,color",
		"filter,translation,erase_ratio,color,hue",
		"translation,erase_ratio,color,hue,erase_ratio",
		"hue",
	}
	rng := rand.New(rand.NewSource(6))
	for _, pol := range policies {
		p, err := augment.ParsePolicy(pol)
		if err != nil {
			t.Fatal(err)
		}
		slot := &augSlot{}
		x, g := randn(rng, b*3*S*S), randn(rng, b*3*S*S)
		sess := openAugGraph(t, p, slot, b, S, x, g)
		erased := 0
		for trial := 0; trial < 10; trial++ {
			// Two chunks as in the D step (real, fake): samples [0, 2)
			// and [2, 4) of the batch from separate draws.
			p1, p2 := augment.Sample(p, 2, 3, S, S, rng), augment.Sample(p, 2, 3, S, S, rng)
			chunks := []*augment.Params{p1, p2}
			if trial%2 == 0 {
				chunks = []*augment.Params{augment.Sample(p, b, 3, S, S, rng)}
			}
			slot.set(chunks...)
			for _, c := range chunks {
				for _, s := range c.Steps {
					if s.Operation() == augment.OpEraseRatio || s.Operation() == augment.OpSTLEraseRatio {
						erased++
					}
				}
			}
			outs, err := sess.Run()
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range [][]float32{goAugment(chunks, augment.Apply, x), goAugment(chunks, augment.ApplyLinear, x), goAugment(chunks, augment.ApplyTranspose, g)} {
				if e := tensorErr(outs[i], want); e > 1e-5 {
					t.Errorf("%s trial %d: %s differs from Go by %.3g (relative)", pol, trial, []string{"apply", "linear", "transpose"}[i], e)
				}
			}
		}
		if pol != "hue" && pol != "translation,cutout,color" && erased == 0 {
			t.Errorf("%s: no erase drawn in 10 trials; the test needs one (change the seed)", pol)
		}
		sess.Close()
	}
}

// goAugment applies f chunk by chunk (equal consecutive parts of x).
func goAugment(chunks []*augment.Params, f func(*augment.Params, []float32) []float32, x []float32) []float32 {
	var out []float32
	n := len(x) / len(chunks)
	for i, p := range chunks {
		out = append(out, f(p, x[i*n:(i+1)*n])...)
	}
	return out
}

// openAugGraph lowers the three directions of slot's augmentation on the
// fixed inputs x (apply, linear) and g (transpose) into one session.
func openAugGraph(t *testing.T, p augment.Policy, slot *augSlot, b, S int, x, g []float32) *lower.Session {
	t.Helper()
	tr := &Trainer{Config: &model.Config{ImageSize: S}, policy: p}
	lw := &lowering{t: tr, augIn: map[*augSlot]augInputs{}}
	l := lower.New("augment")
	shape := []int{b, 3, S, S}
	xin := l.AddExtra("x", shape, func() []float32 { return x })
	gin := l.AddExtra("g", shape, func() []float32 { return g })
	l.OutputValue(lw.augment(l, xin, slot, augApply, b), "apply", shape)
	l.OutputValue(lw.augment(l, xin, slot, augLinear, b), "linear", shape)
	l.OutputValue(lw.augment(l, gin, slot, augTransposed, b), "transpose", shape)
	sess, err := lower.Open(l, runtime.CPU, "")
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// A policy with filter on images of 21 pixels or less (which filter
// cannot reflect-pad) is refused by New, not a panic at the first step.
func TestNewRefusesFilterOnSmallImages(t *testing.T) {
	cfg := microConfig(t) // 8x8
	_, err := New(cfg, Options{Augment: "filter,translation", DisBatch: 2, GenBatch: 2, NCritic: 1, Samples: 1}, nil)
	if want := `augment: policy "filter,translation": filter needs images larger than 21x21`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("New = %v, want %q", err, want)
	}
	if _, err := New(cfg, Options{Augment: "translation,erase_ratio,color,hue", DisBatch: 2, GenBatch: 2, NCritic: 1, Samples: 1}, nil); err != nil {
		t.Errorf("erase and hue at 8x8: %v", err)
	}
}
