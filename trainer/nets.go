package trainer

import (
	"fmt"
	"sort"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// gradNet is a network with a scalar cost, the gradient nodes the trainer
// reads, and the executor that runs its graph (the tape machine unless the
// trainer switched to ONNX Runtime; executor.go).
type gradNet struct {
	net    *gmodel.Net
	cost   *G.Node
	names  []string // parameters with gradients, sorted
	grads  G.Nodes  // d cost / d parameter, in names order
	inGrad *G.Node  // d cost / d input, when asked for
	exec   executor
}

// compile differentiates cost with respect to the net's parameters (when
// params) and its input (when input), and compiles the graph.
// Parameters in skip are left out (they do not affect the cost).
func compile(net *gmodel.Net, cost *G.Node, params, input bool, skip ...string) (*gradNet, error) {
	gn := &gradNet{net: net, cost: cost}
	var wrt G.Nodes
	if params {
		skipped := map[string]bool{}
		for _, s := range skip {
			skipped[s] = true
		}
		for name := range net.Params {
			if !skipped[name] {
				gn.names = append(gn.names, name)
			}
		}
		sort.Strings(gn.names)
		for _, name := range gn.names {
			wrt = append(wrt, net.Params[name])
		}
	}
	if input {
		wrt = append(wrt, net.Input)
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		return nil, fmt.Errorf("differentiate: %w", err)
	}
	if input {
		gn.inGrad = grads[len(grads)-1]
		grads = grads[:len(grads)-1]
	}
	gn.grads = grads
	gn.exec = newTapeExecutor(net.Graph)
	return gn, nil
}

// run executes the graph (forward and backward) once.
func (g *gradNet) run() error { return g.exec.run() }

// costValue is the cost of the last run.
func (g *gradNet) costValue() float32 { return g.exec.value(g.cost)[0] }

// inputGrad is d cost / d input of the last run (nets compiled with input).
func (g *gradNet) inputGrad() []float32 { return g.exec.value(g.inGrad) }

// setInput copies x into the net's input node.
func (g *gradNet) setInput(x []float32) {
	copy(denseData(g.net.Input.Value()), x)
}

// paramGrads returns the parameter gradients by name: copies of the tape's
// values, or the ONNX Runtime executor's output buffers, which are separate
// per output and valid until the net runs again (the step consumes them
// before that).
func (g *gradNet) paramGrads() map[string][]float32 {
	out := make(map[string][]float32, len(g.names))
	for i, name := range g.names {
		v := g.exec.value(g.grads[i])
		if _, own := g.exec.(*ortExecutor); !own { // tape values may alias
			v = append([]float32(nil), v...)
		}
		out[name] = v
	}
	return out
}

// addGrads adds scale*src into dst, name by name.
func addGrads(dst, src map[string][]float32, scale float32) {
	for name, s := range src {
		d := dst[name]
		if d == nil {
			d = make([]float32, len(s))
			dst[name] = d
		}
		for i, v := range s {
			d[i] += scale * v
		}
	}
}

// penaltyNet is the WGAN-GP graph: for D's input u = Aug(xhat) it computes
// mean_b (||Aug^T dD/du||_b - phi)^2, the gradient norm taken with respect
// to the interpolate before augmentation, and differentiates it with
// respect to D's weights (double backprop).
type penaltyNet struct {
	*gradNet
	slot *augSlot
}

func buildPenalty(d *gmodel.Net, phi float64) (*penaltyNet, error) {
	inner := G.Must(G.Sum(d.Output)) // grad_outputs = ones
	gu, err := G.Grad(inner, d.Input)
	if err != nil {
		return nil, fmt.Errorf("penalty: inner gradient: %w", err)
	}
	if err := gmodel.ResetDerivatives(d.Graph); err != nil {
		return nil, fmt.Errorf("penalty: %w", err)
	}
	slot := &augSlot{}
	gx := augTranspose(slot, gu[0])                                // [B, 3*S*S]
	norm := G.Must(G.Sqrt(G.Must(G.Sum(G.Must(G.Square(gx)), 1)))) // [B]
	dev := G.Must(G.Sub(norm, G.NewConstant(float32(phi))))
	pen := G.Must(G.Mean(G.Must(G.Square(dev))))
	// D's input gradient does not depend on the biases after the last
	// nonlinearity: the final norm's and the head's.
	gn, err := compile(d, pen, true, false, d.Config.DNormB(), model.DHeadB)
	if err != nil {
		return nil, fmt.Errorf("penalty: %w", err)
	}
	return &penaltyNet{gradNet: gn, slot: slot}, nil
}
