package trainer

import (
	"math"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/model"
)

// TestSamplesInChunks: the sample grid is generated sampleChunk images at a
// time (bounded memory) and equals one forward pass over all of FixedZ.
func TestSamplesInChunks(t *testing.T) {
	cfg := microConfig(t)
	o := microOptions()
	o.Samples = sampleChunk + 3 // a partial last chunk
	tr, err := New(cfg, o, newSynth(7, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tr.Samples()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gmodel.BuildGenerator(cfg, tr.AvgGen, o.Samples, gmodel.Inference())
	if err != nil {
		t.Fatal(err)
	}
	want, err := g.Forward(tr.FixedZ)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("value %d: %g, want %g", i, got[i], want[i])
		}
	}
}

// maxDiff is the largest |a-b| over the tensors of a and where it is.
func maxDiff(a, b model.Weights) (float64, string) {
	worst, at := 0.0, ""
	for name, x := range a {
		for i, v := range x.F32 {
			if d := math.Abs(float64(v - b[name].F32[i])); d > worst || math.IsNaN(d) {
				worst, at = d, name
			}
		}
	}
	return worst, at
}
