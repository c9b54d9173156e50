package lower

import (
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
	G "gorgonia.org/gorgonia"
)

// microConfig is testkit's micro v1 or final pair: every op kind of the
// paper-size models (a mask, pixel shuffle, several stages; for final the
// relative-position bias, two-scale D and attention noise).
func microConfig(tb testing.TB, final bool) *model.Config {
	if final {
		return testkit.MicroFinalConfig(tb)
	}
	return testkit.MicroConfig(tb)
}

func randFill(rng *rand.Rand, x []float32, scale float64) {
	for i := range x {
		x[i] = float32(scale * rng.NormFloat64())
	}
}

// compare runs graph's tape machine and the lowered ONNX model of the same
// outputs and checks every output.
func compare(t *testing.T, graph *G.ExprGraph, outs map[string]*G.Node, tol float64) {
	t.Helper()
	l := New("test")
	var names []string
	var nodes []*G.Node
	for name, n := range outs {
		if err := l.Output(n, name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		nodes = append(nodes, n)
	}
	s, err := Open(l, runtime.CPU, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Run() // before the tape: ONNX Runtime must not need its buffers
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(graph)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		want := NodeData(n)
		if e := testkit.RelErr(got[i], want); e > tol || len(got[i]) != len(want) {
			t.Errorf("%s: max rel err %.2g (limit %g), %d values, want %d", names[i], e, tol, len(got[i]), len(want))
		}
	}
}

func TestParityGeneratorForward(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, final := range []bool{false, true} {
		cfg := microConfig(t, final)
		rng := rand.New(rand.NewSource(1))
		g, err := gmodel.BuildGenerator(cfg, model.InitWeights(cfg.GParams(), rng), 3)
		if err != nil {
			t.Fatal(err)
		}
		g.SetEpoch(0)
		randFill(rng, NodeData(g.Input), 1)
		compare(t, g.Graph, map[string]*G.Node{"image": g.Output}, 1e-5)
	}
}

// TestParityDiscriminatorDoubleBackward lowers D's logits, the gradients of
// mean(logits) with respect to every weight and the input, and the
// gradient of the squared input-gradient norm with respect to the weights
// (the WGAN-GP double backward), and compares them with the tape machine.
func TestParityDiscriminatorDoubleBackward(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, final := range []bool{false, true} {
		cfg := microConfig(t, final)
		rng := rand.New(rand.NewSource(2))
		w := model.InitWeights(cfg.DParams(), rng)
		// In a fixed order, so that every run tests the same weights: with
		// map order some runs drew a noise-strength gradient near zero,
		// where a relative comparison measures rounding.
		for _, name := range slices.Sorted(maps.Keys(w)) {
			tt := w[name]
			for i := range tt.F32 {
				tt.F32[i] += float32(0.2 * rng.NormFloat64())
			}
		}
		d, err := gmodel.BuildDiscriminator(cfg, w, 2)
		if err != nil {
			t.Fatal(err)
		}
		randFill(rng, NodeData(d.Input), 1)
		d.SetNoise(rng)
		gu, err := G.Grad(G.Must(G.Sum(d.Output)), d.Input)
		if err != nil {
			t.Fatal(err)
		}
		gmodel.ResetDerivatives(d.Graph)
		norm := G.Must(G.Sqrt(G.Must(G.Sum(G.Must(G.Square(G.Must(G.Reshape(gu[0], []int{2, 3 * 8 * 8})))), 1))))
		pen := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(norm, G.NewConstant(float32(1))))))))
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
		// (gu itself is not compared here: the tape reuses its buffer later.)
		outs := map[string]*G.Node{"logits": d.Output, "penalty": pen}
		for i, g := range grads {
			outs["grad/"+names[i]] = g
		}
		compare(t, d.Graph, outs, 2e-5)
	}
}

// TestParityDiscriminatorInputGradient compares the first-order gradients of
// sum(logits) with respect to the weights and the input (the G step's D).
func TestParityDiscriminatorInputGradient(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, final := range []bool{false, true} {
		cfg := microConfig(t, final)
		rng := rand.New(rand.NewSource(3))
		d, err := gmodel.BuildDiscriminator(cfg, model.InitWeights(cfg.DParams(), rng), 3)
		if err != nil {
			t.Fatal(err)
		}
		randFill(rng, NodeData(d.Input), 1)
		d.SetNoise(rng)
		wrt := G.Nodes{d.Input}
		for _, n := range d.Params {
			wrt = append(wrt, n)
		}
		grads, err := G.Grad(G.Must(G.Sum(d.Output)), wrt...)
		if err != nil {
			t.Fatal(err)
		}
		outs := map[string]*G.Node{"input_grad": grads[0]}
		for i, g := range grads[1:] {
			outs["grad/"+wrt[i+1].Name()] = g
		}
		compare(t, d.Graph, outs, 2e-5)
	}
}

func TestUnknownOpIsNamed(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float32, G.WithShape(2, 2), G.WithName("x"), G.WithInit(G.Zeroes()))
	y := G.Must(G.Tanh(x))
	l := New("t")
	err := l.Output(y, "y")
	if err == nil || !strings.Contains(err.Error(), "tanh") {
		t.Fatalf("err = %v, want one naming tanh", err)
	}
}

// TestGraphsCoverEverySpec checks that the graphs the parity tests above
// lower (G forward, D's input gradient and double backward, both model
// versions) contain every kind of gmodel op description, every row kind
// and both directions of the adjoint pairs, so each case of gmodelOp is
// compared with the tape machine.
func TestGraphsCoverEverySpec(t *testing.T) {
	want := []string{
		"MatMulSpec", "ReshapeSpec", "PermuteSpec", "TiledSpec", "TiledSpec/mul",
		"SumTilesSpec", "TileSpec", "GELUSpec/0", "GELUSpec/1", "GELUSpec/2",
		"RelBiasSpec", "RelBiasSpec/scatter", "SliceSpec", "SliceSpec/pad",
	}
	for k := gmodel.RowSoftmax; k <= gmodel.RowNormalizeGradX; k++ {
		want = append(want, fmt.Sprintf("RowSpec/%d", k))
	}
	seen := map[string]bool{}
	for _, final := range []bool{false, true} {
		cfg := microConfig(t, final)
		rng := rand.New(rand.NewSource(4))
		g, err := gmodel.BuildGenerator(cfg, model.InitWeights(cfg.GParams(), rng), 2)
		if err != nil {
			t.Fatal(err)
		}
		d, err := gmodel.BuildDiscriminator(cfg, model.InitWeights(cfg.DParams(), rng), 2)
		if err != nil {
			t.Fatal(err)
		}
		gu, err := G.Grad(G.Must(G.Sum(d.Output)), d.Input)
		if err != nil {
			t.Fatal(err)
		}
		gmodel.ResetDerivatives(d.Graph)
		pen := G.Must(G.Sum(G.Must(G.Square(gu[0]))))
		var wrt G.Nodes
		for name, n := range d.Params {
			if name != cfg.DNormB() && name != model.DHeadB { // no second derivative
				wrt = append(wrt, n)
			}
		}
		if _, err := G.Grad(pen, wrt...); err != nil {
			t.Fatal(err)
		}
		for _, n := range append(g.Graph.AllNodes(), d.Graph.AllNodes()...) {
			if op, ok := n.Op().(gmodel.Described); ok {
				seen[specKey(op.Describe())] = true
			}
		}
	}
	for _, k := range want {
		if !seen[k] {
			t.Errorf("no %s op in the lowered test graphs", k)
		}
	}
}

// specKey names a description's type and the variant it selects.
func specKey(s gmodel.OpSpec) string {
	name := strings.TrimPrefix(fmt.Sprintf("%T", s), "gmodel.")
	switch s := s.(type) {
	case gmodel.TiledSpec:
		if s.Mul {
			return name + "/mul"
		}
	case gmodel.RowSpec:
		return fmt.Sprintf("%s/%d", name, s.Kind)
	case gmodel.GELUSpec:
		return fmt.Sprintf("%s/%d", name, s.Order)
	case gmodel.RelBiasSpec:
		if s.Scatter {
			return name + "/scatter"
		}
	case gmodel.SliceSpec:
		if s.Pad {
			return name + "/pad"
		}
	}
	return name
}
