package trainer

import (
	"maps"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/runtime"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestParityLossGraphs: every D and G loss of the graph equals an independent
// float64 formula, its gradient with respect to the logits equals central
// differences of that formula, and ONNX Runtime's run of the same graph
// agrees (checkLossGraph).
func TestParityLossGraphs(t *testing.T) {
	const b = 4
	rng := rand.New(rand.NewSource(8))
	x := randn(rng, 2*b)
	for i := range x {
		x[i] = 2*x[i] + 0.3 // no logit at a hinge's kink
	}
	softplus := func(v float64) float64 { return math.Log1p(math.Exp(v)) }
	dWant := map[string]func(r, f []float64) float64{
		LossWGANGP: func(r, f []float64) float64 {
			return meanOf(f, func(v float64) float64 { return v }) - meanOf(r, func(v float64) float64 { return v })
		},
		LossHinge: func(r, f []float64) float64 {
			return meanOf(r, func(v float64) float64 { return math.Max(0, 1-v) }) + meanOf(f, func(v float64) float64 { return math.Max(0, 1+v) })
		},
		LossStandard: func(r, f []float64) float64 {
			return meanOf(r, func(v float64) float64 { return softplus(-v) }) + meanOf(f, softplus)
		},
		LossLSGAN: func(r, f []float64) float64 {
			return meanOf(r, func(v float64) float64 { return (v - 1) * (v - 1) }) + meanOf(f, func(v float64) float64 { return v * v })
		},
	}
	gWant := map[string]func(f []float64) float64{
		LossWGANGP:   func(f []float64) float64 { return -meanOf(f, func(v float64) float64 { return v }) },
		LossHinge:    func(f []float64) float64 { return -meanOf(f, func(v float64) float64 { return v }) },
		LossStandard: func(f []float64) float64 { return meanOf(f, func(v float64) float64 { return softplus(-v) }) },
		LossLSGAN:    func(f []float64) float64 { return meanOf(f, func(v float64) float64 { return (v - 1) * (v - 1) }) },
	}
	for _, kind := range slices.Sorted(maps.Keys(dWant)) {
		checkLossGraph(t, "D "+kind, x, func(v []float64) float64 { return dWant[kind](v[:b], v[b:]) },
			func(n *G.Node) (*G.Node, error) {
				lt, err := dLossGraph(kind, 0, n)
				return lt.loss, err
			})
		checkLossGraph(t, "G "+kind, x[:b], gWant[kind], func(n *G.Node) (*G.Node, error) { return gLossGraph(kind, n) })
	}
}

func meanOf(v []float64, f func(float64) float64) float64 {
	s := 0.0
	for _, x := range v {
		s += f(x)
	}
	return s / float64(len(v))
}

// lossRunner is a loss graph on a logits input node, for the executors.
type lossRunner struct {
	g          *G.ExprGraph
	loss, grad *G.Node
}

func (r lossRunner) graph() *G.ExprGraph { return r.g }
func (r lossRunner) outputs() []output {
	return []output{{node: r.loss, name: "loss"}, {node: r.grad, name: "grad"}}
}
func (r lossRunner) stateNodes() G.Nodes { return nil }

// checkLossGraph builds build(logits) on logits x [n, 1], compares the
// tape's loss with want and its gradient with central differences of
// want, and ONNX Runtime's loss and gradient with the tape's. It returns
// the tape's loss.
func checkLossGraph(t *testing.T, what string, x []float32, want func([]float64) float64, build func(*G.Node) (*G.Node, error)) float64 {
	t.Helper()
	g := G.NewGraph()
	shape := tensor.Shape{len(x), 1}
	in := G.NewTensor(g, tensor.Float32, 2, G.WithShape(shape...), G.WithName("logits"),
		G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float32(nil), x...)))))
	loss, err := build(in)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := G.Grad(loss, in)
	if err != nil {
		t.Fatal(err)
	}
	r := lossRunner{g: g, loss: loss, grad: grads[0]}
	tape := newTapeExecutor(r)
	defer tape.close()
	if err := tape.run(); err != nil {
		t.Fatal(err)
	}
	l, gr := tape.value(r.loss)[0], tape.value(r.grad)
	v := make([]float64, len(x))
	for i, f := range x {
		v[i] = float64(f)
	}
	if e := relDiff(float64(l), want(v)); e > 1e-6 {
		t.Errorf("%s: loss %v, float64 formula %v", what, l, want(v))
	}
	for i := range v {
		const h = 1e-4
		v[i] += h
		up := want(v)
		v[i] -= 2 * h
		fd := (up - want(v)) / (2 * h)
		v[i] += h
		if math.Abs(float64(gr[i])-fd) > 1e-6 {
			t.Errorf("%s: gradient %d %g, central difference %g", what, i, gr[i], fd)
		}
	}
	t.Run(what+"/onnx", func(t *testing.T) {
		requireORT(t)
		tr := &Trainer{}
		lw, index, err := tr.lowerGraph("loss", r)
		if err != nil {
			t.Fatal(err)
		}
		s, err := lower.Open(lw, runtime.CPU, "")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		e := &ortExecutor{sess: s, index: index}
		if err := e.run(); err != nil {
			t.Fatal(err)
		}
		if d := relDiff(float64(e.value(r.loss)[0]), float64(l)); d > 1e-6 {
			t.Errorf("ONNX loss %v, tape %v", e.value(r.loss)[0], l)
		}
		if d := tensorErr(e.value(r.grad), gr); d > 1e-6 {
			t.Errorf("ONNX gradient relative error %.2g", d)
		}
	})
	return float64(l)
}
