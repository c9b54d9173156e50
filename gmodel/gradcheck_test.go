package gmodel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradCase is one function of named inputs to check against finite differences.
type gradCase struct {
	name   string
	shapes [][]int
	f      func(in []*G.Node) *G.Node
}

// checkGrad compares the symbolic gradient of sum(f(x) * r), r fixed and
// random, with central differences of the same scalar.
func checkGrad(t *testing.T, c gradCase) {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	vals := make([][]float32, len(c.shapes))
	for i, s := range c.shapes {
		vals[i] = make([]float32, tensor.Shape(s).TotalSize())
		for j := range vals[i] {
			vals[i][j] = float32(rng.NormFloat64())
		}
	}
	var r []float32
	cost := func(grads bool) (float64, [][]float32) {
		g := G.NewGraph()
		in := make([]*G.Node, len(vals))
		for i, v := range vals {
			in[i] = G.NewTensor(g, tensor.Float32, len(c.shapes[i]), G.WithShape(c.shapes[i]...),
				G.WithName(fmt.Sprintf("in%d", i)), G.WithValue(newDense(append([]float32(nil), v...), c.shapes[i]...)))
		}
		out := c.f(in)
		if r == nil {
			r = make([]float32, out.Shape().TotalSize())
			for j := range r {
				r[j] = float32(rng.NormFloat64())
			}
		}
		rn := G.NewTensor(g, tensor.Float32, out.Dims(), G.WithShape(out.Shape()...), G.WithName("r"), G.WithValue(newDense(r, out.Shape()...)))
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, rn))))
		var gs G.Nodes
		if grads {
			var err error
			if gs, err = G.Grad(loss, in...); err != nil {
				t.Fatalf("%s: grad: %v", c.name, err)
			}
		}
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("%s: run: %v", c.name, err)
		}
		var res [][]float32
		for _, n := range gs {
			res = append(res, append([]float32(nil), f32(n.Value())...))
		}
		return float64(loss.Value().Data().(float32)), res
	}
	_, sym := cost(true)
	const eps = 1e-2
	for i := range vals {
		for j := 0; j < len(vals[i]); j += 1 + len(vals[i])/23 {
			old := vals[i][j]
			vals[i][j] = old + eps
			up, _ := cost(false)
			vals[i][j] = old - eps
			down, _ := cost(false)
			vals[i][j] = old
			num := (up - down) / (2 * eps)
			if d := math.Abs(num - float64(sym[i][j])); d > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: d/d in%d[%d]: symbolic %.5f, finite differences %.5f", c.name, i, j, sym[i][j], num)
			}
		}
	}
}

func TestOpGradients(t *testing.T) {
	cases := []gradCase{
		{"matmul", [][]int{{3, 4}, {4, 5}}, func(in []*G.Node) *G.Node { return matmul(in[0], in[1], false, false) }},
		{"matmulTB", [][]int{{3, 4}, {5, 4}}, func(in []*G.Node) *G.Node { return matmul(in[0], in[1], false, true) }},
		{"matmulTA", [][]int{{2, 4, 3}, {2, 4, 5}}, func(in []*G.Node) *G.Node { return matmul(in[0], in[1], true, false) }},
		{"matmulTT", [][]int{{4, 3}, {5, 4}}, func(in []*G.Node) *G.Node { return matmul(in[0], in[1], true, true) }},
		{"reshape", [][]int{{2, 6}}, func(in []*G.Node) *G.Node { return reshape(in[0], 3, 4) }},
		{"permute", [][]int{{2, 3, 4}}, func(in []*G.Node) *G.Node { return permute(in[0], 2, 0, 1) }},
		{"addTiled", [][]int{{3, 4}, {4}}, func(in []*G.Node) *G.Node { return addTiled(in[0], in[1]) }},
		{"mulTiled", [][]int{{3, 4}, {4}}, func(in []*G.Node) *G.Node { return mulTiled(in[0], in[1]) }},
		{"tile", [][]int{{1, 4}}, func(in []*G.Node) *G.Node { return tileOf(in[0], tensor.Shape{3, 4}) }},
		{"softmax", [][]int{{3, 5}}, func(in []*G.Node) *G.Node { return softmax(in[0]) }},
		{"normalize", [][]int{{3, 6}}, func(in []*G.Node) *G.Node { return normalize(in[0]) }},
		{"gelu", [][]int{{3, 5}}, func(in []*G.Node) *G.Node { return gelu(in[0]) }},
		{"slice", [][]int{{2, 4, 3}}, func(in []*G.Node) *G.Node { return sliceMid(in[0], 2, 4, 3, 1, 3, 2, 2, 3) }},
		{"pad", [][]int{{2, 2, 3}}, func(in []*G.Node) *G.Node { return padMid(in[0], 2, 4, 3, 1, 3, 2, 4, 3) }},
		{"relBias", [][]int{{9, 2}}, func(in []*G.Node) *G.Node { return relBias(in[0], model.RelPosIndex(2), 4) }},
		// Backward ops, whose own gradients WGAN-GP's double backprop needs.
		{"softmaxGrad", [][]int{{3, 5}, {3, 5}}, func(in []*G.Node) *G.Node { return newRowOp(RowSoftmaxGrad, softmax(in[0]), in[1]) }},
		{"normalizeGrad", [][]int{{3, 6}, {3, 6}}, func(in []*G.Node) *G.Node { return newRowOp(RowNormalizeGrad, in[0], in[1]) }},
		{"geluGrad", [][]int{{3, 5}, {3, 5}}, func(in []*G.Node) *G.Node { return geluN(1, in[0], in[1]) }},
		{"pixelUpsample", [][]int{{2 * 4, 8}}, func(in []*G.Node) *G.Node { return pixelUpsample(in[0], 2, 2, 8) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrad(t, c) })
	}
}
