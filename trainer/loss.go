package trainer

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The losses are ordinary graph arithmetic on the logits, so that the
// tape machine differentiates them and the lowering to ONNX takes them
// like any other node: one definition for both executors. Slices of the
// logits (real, fake, drift groups) are weighted sums with constant
// weight vectors, which need no slicing op.

// lossTerms are the D loss and the statistics a D step reports.
type lossTerms struct {
	loss, real, fake *G.Node // scalars: the loss, mean real logit, mean fake logit
}

// dLossGraph is the D loss on logits x [2b, 1] (real then fake) without
// the gradient penalty. group > 0 takes wgangp-eps's drift term per group
// of that many real logits (the official per-GPU micro-batches: 1e-3 times
// the mean over groups of the squared group mean).
func dLossGraph(kind string, group int, x *G.Node) (lossTerms, error) {
	b := x.Shape()[0] / 2
	c := consts{g: x.Graph(), shape: x.Shape(), prefix: "loss/d/"}
	inv := float32(1 / float64(b))
	realW := c.vec("mean_real", func(i int) float32 { return pick(i < b, inv, 0) })
	fakeW := c.vec("mean_fake", func(i int) float32 { return pick(i >= b, inv, 0) })
	t := lossTerms{real: wsum(x, realW), fake: wsum(x, fakeW)}
	sign := func() *G.Node { return c.vec("sign", func(i int) float32 { return pick(i < b, -1, 1) }) }
	per := c.vec("per_sample", func(int) float32 { return inv })
	switch kind {
	case LossHinge: // mean relu(1-r) + mean relu(1+f); relu(v) = (v+|v|)/2
		v := G.Must(G.Add(one(), G.Must(G.HadamardProd(sign(), x))))
		relu := G.Must(G.Mul(G.Must(G.Add(v, G.Must(G.Abs(v)))), G.NewConstant(float32(0.5))))
		t.loss = wsum(relu, per)
	case LossStandard: // BCE(sigmoid r, 1) + BCE(sigmoid f, 0)
		t.loss = wsum(G.Must(G.Softplus(G.Must(G.HadamardProd(sign(), x)))), per)
	case LossLSGAN: // MSE(r, 1) + MSE(f, 0)
		target := c.vec("target", func(i int) float32 { return pick(i < b, 1, 0) })
		d := G.Must(G.Sub(x, target))
		t.loss = wsum(G.Must(G.Square(d)), per)
	case LossWGANGP, LossWGANGPEps: // -mean r + mean f (+ drift)
		t.loss = G.Must(G.Sub(t.fake, t.real))
		if kind == LossWGANGPEps {
			t.loss = G.Must(G.Add(t.loss, drift(c, x, t.real, group, b)))
		}
	default:
		return t, fmt.Errorf("unknown loss %q", kind)
	}
	return t, nil
}

// drift is wgangp-eps's 1e-3 * mean(r)^2, or with groups of g real logits
// the mean over the groups of 1e-3 * (group mean)^2.
func drift(c consts, x, meanReal *G.Node, g, b int) *G.Node {
	if g <= 0 || g >= b {
		return G.Must(G.Mul(G.Must(G.Square(meanReal)), G.NewConstant(float32(1e-3))))
	}
	k := b / g
	var sum *G.Node
	for j := 0; j < k; j++ {
		w := c.vec(fmt.Sprintf("group%d", j), func(i int) float32 {
			return pick(i >= j*g && i < (j+1)*g, float32(1/float64(g)), 0)
		})
		sq := G.Must(G.Square(wsum(x, w)))
		if sum == nil {
			sum = sq
		} else {
			sum = G.Must(G.Add(sum, sq))
		}
	}
	return G.Must(G.Mul(sum, G.NewConstant(float32(1e-3/float64(k)))))
}

// gLossGraph is the G loss on D's logits f [n, 1] of (augmented) fakes.
func gLossGraph(kind string, f *G.Node) (*G.Node, error) {
	n := f.Shape()[0]
	c := consts{g: f.Graph(), shape: f.Shape(), prefix: "loss/g/"}
	per := c.vec("per_sample", func(int) float32 { return float32(1 / float64(n)) })
	switch kind {
	case LossStandard: // BCE(sigmoid f, 1)
		return wsum(G.Must(G.Softplus(G.Must(G.Neg(f)))), per), nil
	case LossLSGAN: // MSE(f, 1)
		return wsum(G.Must(G.Square(G.Must(G.Sub(f, one())))), per), nil
	case LossWGANGP, LossWGANGPEps, LossHinge: // -mean f
		return G.Must(G.Neg(wsum(f, per))), nil
	}
	return nil, fmt.Errorf("unknown loss %q", kind)
}

// mseGraph is mean((x - y)^2) over all elements.
func mseGraph(x, y *G.Node) *G.Node {
	return G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(x, y))))))
}

// wsum is sum(x * w) over all elements.
func wsum(x, w *G.Node) *G.Node { return G.Must(G.Sum(G.Must(G.HadamardProd(x, w)))) }

func one() *G.Node { return G.NewConstant(float32(1)) }

func pick(cond bool, a, b float32) float32 {
	if cond {
		return a
	}
	return b
}

// consts makes constant tensors shaped like the logits as named input
// nodes with fixed values (ONNX Runtime reads them like any input).
type consts struct {
	g      *G.ExprGraph
	shape  tensor.Shape
	prefix string
}

func (c consts) vec(name string, f func(i int) float32) *G.Node {
	v := make([]float32, c.shape.TotalSize())
	for i := range v {
		v[i] = f(i)
	}
	t := tensor.New(tensor.WithShape(c.shape.Clone()...), tensor.WithBacking(v))
	return G.NewTensor(c.g, tensor.Float32, len(c.shape), G.WithShape(c.shape.Clone()...), G.WithName(c.prefix+name), G.WithValue(t))
}
