package trainer

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The update is graphs too, run by the same executor as the steps, so that
// on ONNX Runtime the weights, Adam's moments, the EMA and the gradients
// never leave it: each step graph writes its parameter gradients into
// buffers bound to its outputs (gradNet.gradBuf), and the graphs below
// read those buffers and write the new state in place. Go feeds scalars
// (scales, the clipping coefficient, Adam's step size, the EMA decay) and
// reads one scalar back (the gradient norm). On the CPU provider every
// buffer is Go memory wrapped once; on CUDA (and on the CPU with
// SetORTDeviceState) each is a tensor in the provider's memory
// (lower.Device), copied back to Go only by SyncWeights (checkpoints,
// evaluation, closing the executor). The tape machine runs the same graphs
// and copies their outputs into the same buffers.
//
//   - accNet: acc = keep*acc + sum_k scale_k*src_k (gradient accumulation
//     and the G loss's leak into D; keep 0 starts a new sum);
//   - normNet: the L2 norm of sum_k scale_k*src_k over all parameters,
//     from which Go computes clip_grad_norm_'s coefficient (and refuses a
//     non-finite norm before anything changes);
//   - updateNet: g = coef * sum_k scale_k*src_k, then Adam (torch.optim.Adam
//     without weight decay) and, for G, the EMA of the new weights.

// gradSource is a set of gradient buffers by parameter name (one graph's
// gradient outputs, or an accumulator) that accNet, normNet and updateNet
// sum, each with a scale fed at every run.
type gradSource struct {
	name string
	bufs map[string][]float32
}

// gradBuffers allocates a zeroed buffer per name, sized like w's tensors.
func gradBuffers(names []string, size func(string) int) map[string][]float32 {
	out := make(map[string][]float32, len(names))
	for _, n := range names {
		out[n] = make([]float32, size(n))
	}
	return out
}

// sumGraph builds graphs that sum scaled sources: it holds the graph, its
// scalar inputs and the nodes over persistent memory.
type sumGraph struct {
	name    string
	g       *G.ExprGraph
	scalars map[string]*G.Node
	scales  []*G.Node // per source
	state   G.Nodes
	outs    []output
	exec    executor
}

func newSumGraph(name string, sources []gradSource) *sumGraph {
	s := &sumGraph{name: name, g: G.NewGraph(), scalars: map[string]*G.Node{}}
	for _, src := range sources {
		s.scales = append(s.scales, s.scalar("scale/"+src.name))
	}
	return s
}

func (s *sumGraph) graph() *G.ExprGraph { return s.g }
func (s *sumGraph) outputs() []output   { return s.outs }
func (s *sumGraph) stateNodes() G.Nodes { return s.state }
func (s *sumGraph) output(n *G.Node, name string, bind []float32) {
	s.outs = append(s.outs, output{node: n, name: name, bind: bind})
}

// scalar is a named scalar input, set before each run (set).
func (s *sumGraph) scalar(name string) *G.Node {
	n := G.NewScalar(s.g, tensor.Float32, G.WithName(name), G.WithValue(G.NewF32(0)))
	s.scalars[name] = n
	return n
}

// set gives the scalar inputs their values for the next run.
func (s *sumGraph) set(values map[string]float32) error {
	for name, v := range values {
		n, ok := s.scalars[name]
		if !ok {
			return fmt.Errorf("%s: no scalar %s", s.name, name)
		}
		if err := G.Let(n, G.NewF32(v)); err != nil {
			return fmt.Errorf("%s: %s: %w", s.name, name, err)
		}
	}
	return nil
}

// setScales sets the sources' scales in order.
func (s *sumGraph) setScales(scales ...float32) error {
	if len(scales) != len(s.scales) {
		return fmt.Errorf("%s: %d scales for %d sources", s.name, len(scales), len(s.scales))
	}
	for i, v := range scales {
		if err := G.Let(s.scales[i], G.NewF32(v)); err != nil {
			return err
		}
	}
	return nil
}

// over is an input node whose value is buf itself (persistent memory).
func (s *sumGraph) over(name string, buf []float32) *G.Node {
	n := G.NewTensor(s.g, tensor.Float32, 1, G.WithShape(len(buf)), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(len(buf)), tensor.WithBacking(buf))))
	s.state = append(s.state, n)
	return n
}

// sum is sum_k scale_k*src_k[p] over the sources that have p (nil: none).
func (s *sumGraph) sum(p string, sources []gradSource) *G.Node {
	var total *G.Node
	for k, src := range sources {
		buf, ok := src.bufs[p]
		if !ok {
			continue
		}
		term := G.Must(G.Mul(s.over(src.name+"/"+p, buf), s.scales[k]))
		if total == nil {
			total = term
		} else {
			total = G.Must(G.Add(total, term))
		}
	}
	return total
}

// run executes the graph once.
func (s *sumGraph) run() error {
	if err := s.exec.run(); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// newAccNet is acc[p] = keep*acc[p] + sum_k scale_k*src_k[p] for every p
// of acc, in place. Scalars: "keep" and the sources' scales.
func newAccNet(name string, acc map[string][]float32, sources []gradSource) *sumGraph {
	s := newSumGraph(name, sources)
	keep := s.scalar("keep")
	for _, p := range sortedKeys(acc) {
		// acc is read only by the sum that produces its new value, so
		// ONNX Runtime may write the new value over it (lower.Bind).
		v := G.Must(G.Mul(s.over("acc/"+p, acc[p]), keep))
		if add := s.sum(p, sources); add != nil {
			v = G.Must(G.Add(v, add))
		}
		s.output(v, "new_acc/"+p, acc[p])
	}
	return s
}

// newNormNet is the L2 norm over names of sum_k scale_k*src_k.
func newNormNet(name string, names []string, sources []gradSource) *sumGraph {
	s := newSumGraph(name, sources)
	var sq *G.Node
	for _, p := range names {
		g := s.sum(p, sources)
		if g == nil {
			continue
		}
		t := G.Must(G.Sum(G.Must(G.Square(g))))
		if sq == nil {
			sq = t
		} else {
			sq = G.Must(G.Add(sq, t))
		}
	}
	s.output(G.Must(G.Sqrt(sq)), "norm", nil)
	return s
}

// adamState is one parameter's memory: weights, moments and (G) EMA.
type adamState struct{ w, m, v, ema []float32 }

// newUpdateNet is the update of the parameters names: g = coef *
// sum_k scale_k*src_k[p], then torch.optim.Adam's step (m = b1 m + (1-b1) g,
// v = b2 v + (1-b2) g^2, w -= step * m / (sqrt(v)/bc2 + eps)) and, where
// the state has an EMA, ema = w + beta (ema - w) of the new w. Every state
// tensor is written in place; each is read only by the nodes that compute
// its new value. Scalars: "coef", "step" (lr/(1-b1^t)), "bc2"
// (sqrt(1-b2^t)), "beta" (EMA decay) and the sources' scales.
func newUpdateNet(name string, names []string, sources []gradSource, state func(string) adamState, b1, b2, eps float64) *sumGraph {
	s := newSumGraph(name, sources)
	coef, step, bc2, beta := s.scalar("coef"), s.scalar("step"), s.scalar("bc2"), s.scalar("beta")
	c := func(v float32) *G.Node { return G.NewConstant(v) }
	// The constants as the Go loop computed them in float32: 1-b1 is
	// float32(1) - float32(b1).
	b1f, b2f := float32(b1), float32(b2)
	for _, p := range names {
		g := s.sum(p, sources)
		if g == nil {
			continue
		}
		st := state(p)
		g = G.Must(G.Mul(g, coef))
		m := G.Must(G.Add(G.Must(G.Mul(c(b1f), s.over("m/"+p, st.m))), G.Must(G.Mul(c(1-b1f), g))))
		v := G.Must(G.Add(G.Must(G.Mul(c(b2f), s.over("v/"+p, st.v))), G.Must(G.Mul(c(1-b2f), G.Must(G.HadamardProd(g, g))))))
		denom := G.Must(G.Add(G.Must(G.Div(G.Must(G.Sqrt(v)), bc2)), c(float32(eps))))
		w := G.Must(G.Sub(s.over("w/"+p, st.w), G.Must(G.HadamardDiv(G.Must(G.Mul(step, m)), denom))))
		s.output(m, "new_m/"+p, st.m)
		s.output(v, "new_v/"+p, st.v)
		s.output(w, "new_w/"+p, st.w)
		if st.ema != nil {
			ema := G.Must(G.Add(w, G.Must(G.Mul(beta, G.Must(G.Sub(s.over("ema/"+p, st.ema), w))))))
			s.output(ema, "new_ema/"+p, st.ema)
		}
	}
	return s
}

// adamScalars are the step size and bias correction of a's next step
// (after Step has been incremented), as the Go loop computed them.
func adamScalars(a *Adam) map[string]float32 {
	bc1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	bc2 := math.Sqrt(1 - math.Pow(a.Beta2, float64(a.Step)))
	return map[string]float32{"step": float32(a.LR / bc1), "bc2": float32(bc2)}
}

// clipCoef is clip_grad_norm_'s coefficient for a total norm: maxNorm /
// (norm + 1e-6) when that is below 1, else 1 (also when maxNorm <= 0: no
// clipping).
func clipCoef(norm, maxNorm float64) float32 {
	if maxNorm > 0 {
		if c := maxNorm / (norm + 1e-6); c < 1 {
			return float32(c)
		}
	}
	return 1
}
