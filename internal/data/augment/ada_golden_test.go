package augment

import (
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/model"
)

// TestParityADAGolden compares hue and filter, fed the same angles and band
// gains, with an independent PyTorch rendering in StyleGAN2-ADA's structure
// (testdata/make_ada_golden.py: homogeneous rotate3d matrix; sym2 filter
// bank, reflect padding and two grouped conv2d passes).
func TestParityADAGolden(t *testing.T) {
	load := func(name string) []float32 {
		v, _, err := npy.ReadFloat32(filepath.Join("testdata", "ada_"+name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const b, c, h, w = 3, 3, 24, 26
	x, theta, gains := load("x"), load("theta"), load("gain")
	hue := &Params{B: b, C: c, H: h, W: w, Steps: []Step{&Hue{Theta: theta}}}
	assertClose(t, "hue", Apply(hue, x), load("hue"), 2e-6)
	f := &Filter{Gain: make([][4]float32, b)}
	for i := range f.Gain {
		copy(f.Gain[i][:], gains[4*i:])
	}
	filt := &Params{B: b, C: c, H: h, W: w, Steps: []Step{f}}
	assertClose(t, "filter", Apply(filt, x), load("filter"), 2e-5)
	assertClose(t, "filter bank", model.FilterBank(), load("fbank"), 1e-7)
}
