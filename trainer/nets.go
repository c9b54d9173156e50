package trainer

import (
	"fmt"
	"sort"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradNet is one training graph, the same for both executors: the batch
// (or z) goes into input, DiffAugment's draws into slot, attention noise
// into the nets' noise inputs; the cost is ordinary graph arithmetic (the
// losses of loss.go), differentiated with respect to the trained net's
// parameters (grads) and, for the G step with the leak, the inlined D's
// (leak). Named scalar statistics (mean logits, unweighted losses) are
// graph nodes too. The executor (executor.go) runs it and reads every
// node back.
type gradNet struct {
	name      string
	net       *gmodel.Net // the net trained: G in the G step and MT-CT, D in the D step and penalty
	dNet      *gmodel.Net // G step: D, inlined behind DiffAugment of G's output
	input     *G.Node     // the node the trainer writes: z, or the images before DiffAugment
	target    *G.Node     // MT-CT: the real batch the SR output is compared with
	slot      *augSlot    // DiffAugment parameters of the next run
	cost      *G.Node
	names     []string // parameters with gradients, sorted
	grads     G.Nodes  // d cost / d parameter, in names order
	leakNames []string // G step with the leak: D's parameters, sorted
	leak      G.Nodes  // d cost / d D parameter, in leakNames order
	stats     map[string]*G.Node
	exec      executor
	// The gradients' buffers: every run writes grads into gradBuf and
	// leak into leakBuf (bound outputs), where the update graphs read them.
	gradBuf, leakBuf map[string][]float32
}

// Statistics of the graphs (gradNet.stats keys).
const (
	statReal = "d_real" // D step: mean logit on the real half
	statFake = "d_fake" // D step: mean logit on the fake half
	statMSE  = "sr_mse" // MT-CT: the unweighted MSE
)

// compile differentiates gn.cost with respect to the parameters of gn.net
// (less skip, which do not affect the cost) and, when leak, of gn.dNet.
func (gn *gradNet) compile(leak bool, skip ...string) error {
	skipped := map[string]bool{}
	for _, s := range skip {
		skipped[s] = true
	}
	gn.names = paramNames(gn.net, skipped)
	wrt := paramNodes(gn.net, gn.names)
	if leak {
		gn.leakNames = paramNames(gn.dNet, nil)
		wrt = append(wrt, paramNodes(gn.dNet, gn.leakNames)...)
	}
	grads, err := G.Grad(gn.cost, wrt...)
	if err != nil {
		return fmt.Errorf("%s: differentiate: %w", gn.name, err)
	}
	gn.grads, gn.leak = grads[:len(gn.names)], grads[len(gn.names):]
	gn.gradBuf = gradBuffers(gn.names, func(p string) int { return gn.net.Params[p].Shape().TotalSize() })
	if leak {
		gn.leakBuf = gradBuffers(gn.leakNames, func(p string) int { return gn.dNet.Params[p].Shape().TotalSize() })
	}
	return nil
}

func paramNames(n *gmodel.Net, skip map[string]bool) []string {
	var names []string
	for name := range n.Params {
		if !skip[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func paramNodes(n *gmodel.Net, names []string) G.Nodes {
	out := make(G.Nodes, len(names))
	for i, name := range names {
		out[i] = n.Params[name]
	}
	return out
}

// graph is the Gorgonia graph of gn.
func (gn *gradNet) graph() *G.ExprGraph { return gn.net.Graph }

// outputs lists every node the trainer reads after a run, with the output
// names of the lowered model.
func (gn *gradNet) outputs() []output {
	outs := []output{{node: gn.cost, name: "cost"}}
	for i, g := range gn.grads {
		outs = append(outs, output{g, "grad/" + gn.names[i], gn.gradBuf[gn.names[i]]})
	}
	for i, g := range gn.leak {
		outs = append(outs, output{g, leakPrefix + gn.leakNames[i], gn.leakBuf[gn.leakNames[i]]})
	}
	for _, k := range sortedKeys(gn.stats) {
		outs = append(outs, output{node: gn.stats[k], name: "stat/" + k})
	}
	return outs
}

// stateNodes are the parameters of the nets in the graph.
func (gn *gradNet) stateNodes() G.Nodes {
	nodes := paramNodes(gn.net, paramNames(gn.net, nil))
	if gn.dNet != nil {
		nodes = append(nodes, paramNodes(gn.dNet, paramNames(gn.dNet, nil))...)
	}
	return nodes
}

// run executes the graph (forward and backward) once.
func (gn *gradNet) run() error { return gn.exec.run() }

// costValue is the cost of the last run.
func (gn *gradNet) costValue() float64 { return float64(gn.exec.value(gn.cost)[0]) }

// stat is a statistic of the last run.
func (gn *gradNet) stat(name string) float64 { return float64(gn.exec.value(gn.stats[name])[0]) }

// setInput copies x into the graph's input node.
func (gn *gradNet) setInput(x []float32) { copy(denseData(gn.input.Value()), x) }

// paramGrads returns the buffers the last run wrote the trained net's
// parameter gradients into (by name); the next run overwrites them.
func (gn *gradNet) paramGrads() map[string][]float32 { return gn.gradBuf }

// buildDStep is the D step's graph: the batch [2b, 3, S, S] (real, then
// fake) through DiffAugment (real and fake halves drawn apart) and D, cost
// the D loss, statistics the mean logits.
func buildDStep(cfg *model.Config, o Options, dis model.Weights, augment bool) (*gradNet, error) {
	b := 2 * o.DisBatch
	g := G.NewGraph()
	gn := &gradNet{name: "d_step", input: imageInput(g, "image", b, cfg.ImageSize), slot: &augSlot{}}
	d, err := gmodel.BuildDiscriminatorOn(g, augmentIf(augment, gn.slot, gn.input), "", cfg, dis)
	if err != nil {
		return nil, err
	}
	gn.net = d
	lt, err := dLossGraph(o.Loss, o.DriftGroup, d.Output)
	if err != nil {
		return nil, err
	}
	gn.cost, gn.stats = lt.loss, map[string]*G.Node{statReal: lt.real, statFake: lt.fake}
	return gn, gn.compile(false)
}

// buildGStep is the G step's graph: z through G, DiffAugment and D (one
// graph: D's weights are the D step's tensors), cost the G loss. With
// leak, D's parameter gradients of the same loss are outputs too.
func buildGStep(cfg *model.Config, o Options, gen, dis model.Weights, augment bool) (*gradNet, error) {
	gnet, err := gmodel.BuildGenerator(cfg, gen, o.GenBatch)
	if err != nil {
		return nil, err
	}
	gn := &gradNet{name: "g_step", net: gnet, input: gnet.Input, slot: &augSlot{}}
	if gn.dNet, err = gmodel.BuildDiscriminatorOn(gnet.Graph, augmentIf(augment, gn.slot, gnet.Output), "d/", cfg, dis); err != nil {
		return nil, err
	}
	if gn.cost, err = gLossGraph(o.Loss, gn.dNet.Output); err != nil {
		return nil, err
	}
	return gn, gn.compile(o.GradLeak)
}

// buildPenalty is the WGAN-GP graph: for interpolates xhat it computes
// mean_b (||d D(Aug(xhat)) / d xhat||_b - phi)^2 (the gradient taken with
// respect to the interpolate before augmentation, through the augmentation's
// transpose) and differentiates it with respect to D's weights (double
// backprop).
func buildPenalty(cfg *model.Config, o Options, dis model.Weights, augment bool) (*gradNet, error) {
	b, S := o.DisBatch, cfg.ImageSize
	g := G.NewGraph()
	gn := &gradNet{name: "penalty", input: imageInput(g, "xhat", b, S), slot: &augSlot{}}
	d, err := gmodel.BuildDiscriminatorOn(g, augmentIf(augment, gn.slot, gn.input), "", cfg, dis)
	if err != nil {
		return nil, err
	}
	gn.net = d
	gx, err := G.Grad(G.Must(G.Sum(d.Output)), gn.input) // grad_outputs = ones
	if err != nil {
		return nil, fmt.Errorf("penalty: inner gradient: %w", err)
	}
	if err := gmodel.ResetDerivatives(g); err != nil {
		return nil, fmt.Errorf("penalty: %w", err)
	}
	flat := G.Must(G.Reshape(gx[0], tensor.Shape{b, 3 * S * S}))
	norm := G.Must(G.Sqrt(G.Must(G.Sum(G.Must(G.Square(flat)), 1)))) // [B]
	dev := G.Must(G.Sub(norm, G.NewConstant(float32(o.Phi))))
	gn.cost = G.Must(G.Mean(G.Must(G.Square(dev))))
	// D's input gradient does not depend on the biases after the last
	// nonlinearity: the final norm's and the head's.
	if err := gn.compile(false, cfg.DNormB(), model.DHeadB); err != nil {
		return nil, fmt.Errorf("penalty: %w", err)
	}
	return gn, nil
}

// augmentIf is DiffAugment of x when the policy has operations, else x.
func augmentIf(on bool, slot *augSlot, x *G.Node) *G.Node {
	if !on {
		return x
	}
	return augmentNode(slot, x)
}

// imageInput is a zero-filled input node of b images [b, 3, S, S].
func imageInput(g *G.ExprGraph, name string, b, S int) *G.Node {
	shape := tensor.Shape{b, 3, S, S}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, shape.TotalSize())))
	return G.NewTensor(g, tensor.Float32, 4, G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

// fwdNet is a forward-only generator (the D step's fakes, the sample
// grids) with the executor that runs it.
type fwdNet struct {
	name string
	net  *gmodel.Net
	exec executor
}

func (f *fwdNet) graph() *G.ExprGraph { return f.net.Graph }
func (f *fwdNet) outputs() []output   { return []output{{node: f.net.Output, name: "image"}} }
func (f *fwdNet) stateNodes() G.Nodes { return paramNodes(f.net, paramNames(f.net, nil)) }

// forward runs the net on z and returns its output, valid until the next
// run.
func (f *fwdNet) forward(z []float32) ([]float32, error) {
	in := denseData(f.net.Input.Value())
	if len(z) != len(in) {
		return nil, fmt.Errorf("%s: z has %d values, G takes %d", f.name, len(z), len(in))
	}
	copy(in, z)
	if err := f.exec.run(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return f.exec.value(f.net.Output), nil
}
