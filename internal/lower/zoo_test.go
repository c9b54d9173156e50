package lower

import (
	"maps"
	"math/rand"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
	G "gorgonia.org/gorgonia"
)

// zooConfig is a small config of a SPEC-hires family: the 256 generators
// at 32x32 (bicubic stages, windows, cross-attention, updown) with their
// three-scale discriminators, or the STL pair (PixelNorm in G and D).
func zooConfig(tb testing.TB, family string) *model.Config {
	tb.Helper()
	c := &model.Config{
		Version: model.Final, LatentDim: 8, GDim: 64, BottomWidth: 1, GDepths: []int{1, 1, 1, 1, 1, 1},
		GHeads: 1, MLPRatio: 2, ImageSize: 32, GNorm: model.PixelNorm, GWindows: []int{1, 2, 2, 4, 4, 4},
		DDim: 16, DDepth: 1, DPatch: 2, DHeads: 2, DWindow: 2,
	}
	switch family {
	case "celeba256":
		c.GArch, c.GDepths[0], c.DKind, c.DPatch = model.GCeleba256, 0, model.DCeleba256, 4
	case "church256":
		c.GArch, c.DKind, c.DRelPos = model.GChurch256, model.DScale3, true
	case "stl":
		c.GDim, c.BottomWidth, c.GDepths, c.GHeads, c.GWindows, c.ImageSize = 64, 2, []int{1, 1, 1}, 2, nil, 8
		c.GRelPos, c.DKind, c.DRelPos, c.DNorm, c.DWindow = true, model.DScale2, true, model.PixelNorm, 0
	}
	if err := c.Validate(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// perturbed is InitWeights plus a seeded perturbation in a fixed order
// (noise strengths and zero-initialised embeddings become non-zero).
func perturbed(ps []model.Param, rng *rand.Rand, scale float64) model.Weights {
	w := model.InitWeights(ps, rng)
	for _, name := range slices.Sorted(maps.Keys(w)) {
		for i := range w[name].F32 {
			w[name].F32[i] += float32(scale * rng.NormFloat64())
		}
	}
	return w
}

// TestParityZooGeneratorForward lowers the zoo generators with their attention
// noise inputs and compares with the tape machine.
func TestParityZooGeneratorForward(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, family := range []string{"celeba256", "church256", "stl"} {
		cfg := zooConfig(t, family)
		rng := rand.New(rand.NewSource(1))
		g, err := gmodel.BuildGenerator(cfg, perturbed(cfg.GParams(), rng, 0.05), 2)
		if err != nil {
			t.Fatal(err)
		}
		g.SetNoise(rng)
		randFill(rng, NodeData(g.Input), 1)
		compare(t, g.Graph, map[string]*G.Node{family + "/image": g.Output}, 1e-5)
	}
}

// TestParityZooDiscriminatorDoubleBackward is TestParityDiscriminatorDoubleBackward
// for the three-scale discriminators and the PixelNorm scale2 D.
func TestParityZooDiscriminatorDoubleBackward(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, family := range []string{"celeba256", "church256", "stl"} {
		cfg := zooConfig(t, family)
		rng := rand.New(rand.NewSource(2))
		d, err := gmodel.BuildDiscriminator(cfg, perturbed(cfg.DParams(), rng, 0.2), 2)
		if err != nil {
			t.Fatal(err)
		}
		randFill(rng, NodeData(d.Input), 1)
		d.SetNoise(rng)
		outs := penaltyOutputs(t, cfg, d)
		compare(t, d.Graph, outs, 2e-5)
	}
}

// penaltyOutputs builds D's logits, the penalty sum((dD/dx)^2) and its
// gradients with respect to the weights (except those it does not reach).
func penaltyOutputs(t *testing.T, cfg *model.Config, d *gmodel.Net) map[string]*G.Node {
	t.Helper()
	gu, err := G.Grad(G.Must(G.Sum(d.Output)), d.Input)
	if err != nil {
		t.Fatal(err)
	}
	gmodel.ResetDerivatives(d.Graph)
	pen := G.Must(G.Sum(G.Must(G.Square(gu[0]))))
	var wrt G.Nodes
	var names []string
	for _, name := range slices.Sorted(maps.Keys(d.Params)) {
		if name == cfg.DNormB() || name == model.DHeadB {
			continue
		}
		wrt = append(wrt, d.Params[name])
		names = append(names, name)
	}
	grads, err := G.Grad(pen, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]*G.Node{"logits": d.Output, "penalty": pen}
	for i, g := range grads {
		outs["grad/"+names[i]] = g
	}
	return outs
}

// TestZooGraphsCoverNewSpecs checks that the zoo test graphs contain the
// axis maps (both directions) and the power op (PixelNorm of the stl D).
func TestZooGraphsCoverNewSpecs(t *testing.T) {
	seen := map[string]bool{}
	for _, family := range []string{"celeba256", "church256", "stl"} {
		cfg := zooConfig(t, family)
		rng := rand.New(rand.NewSource(4))
		d, err := gmodel.BuildDiscriminator(cfg, perturbed(cfg.DParams(), rng, 0.2), 2)
		if err != nil {
			t.Fatal(err)
		}
		penaltyOutputs(t, cfg, d)
		for _, n := range d.Graph.AllNodes() {
			if op, ok := n.Op().(gmodel.Described); ok {
				key := specKey(op.Describe())
				if s, ok := op.Describe().(gmodel.AxisMapSpec); ok && s.Adjoint {
					key += "/adjoint"
				}
				seen[key] = true
			}
		}
	}
	for _, k := range []string{"AxisMapSpec", "AxisMapSpec/adjoint", "PowSpec"} {
		if !seen[k] {
			t.Errorf("no %s op in the zoo test graphs", k)
		}
	}
}
