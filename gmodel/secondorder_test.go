package gmodel

import (
	"maps"
	"math/rand"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit/fdcheck"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// TestDoubleBackprop checks a WGAN-GP-shaped cost through a whole small
// discriminator of each kind: penalty = sum((dD/dx)^2), differentiated with
// respect to the weights, against finite differences of the penalty.
func TestDoubleBackprop(t *testing.T) {
	for _, name := range []string{"v1", "final"} {
		t.Run(name, func(t *testing.T) {
			cfg, _ := model.Preset("tiny")
			cfg.ImageSize, cfg.BottomWidth, cfg.GDepths = 8, 2, []int{1, 1, 1}
			cfg.DDim, cfg.DDepth, cfg.DPatch = 16, 1, 2
			if name == "final" {
				cfg.DKind, cfg.DRelPos = model.DScale2, true
			}
			checkPenaltyGrad(t, cfg)
		})
	}
}

func checkPenaltyGrad(t *testing.T, cfg *model.Config) {
	rng := rand.New(rand.NewSource(3))
	w := model.InitWeights(cfg.DParams(), rng)
	for _, name := range slices.Sorted(maps.Keys(w)) { // a fixed order: the same weights every run
		tt := w[name]
		for i := range tt.F32 {
			tt.F32[i] += float32(0.2 * rng.NormFloat64())
		}
	}
	d, err := BuildDiscriminator(cfg, w, 2)
	if err != nil {
		t.Fatal(err)
	}
	d.SetNoise(rng)
	for i := range f32(d.Input.Value()) {
		f32(d.Input.Value())[i] = float32(rng.Float64()*2 - 1)
	}
	out := G.Must(G.Sum(d.Output))
	gx, err := G.Grad(out, d.Input)
	if err != nil {
		t.Fatal(err)
	}
	ResetDerivatives(d.Graph)
	penalty := G.Must(G.Sum(G.Must(G.Square(gx[0]))))
	names := []string{model.DHeadW, cfg.DNormW(), model.DCls}
	for _, blk := range cfg.DBlocks()[0] {
		names = append(names, blk.QKV(), blk.LN1W(), blk.FC1W(), blk.FC2B())
		if blk.Window > 0 {
			names = append(names, blk.RelTable())
		}
	}
	var wrt G.Nodes
	for _, n := range names {
		wrt = append(wrt, d.Params[n])
	}
	grads, err := G.Grad(penalty, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(d.Graph)
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(penalty.Value().Data().(float32))
	}
	run()
	fdcheck.Check(t, gradInputs(wrt, grads), run, fdcheck.Options{Eps: 3e-3, Floor: 0.05, Samples: 5})
}
