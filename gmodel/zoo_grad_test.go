package gmodel

import (
	"maps"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit/fdcheck"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// TestResampleMatrices checks the bicubic x2 and updown matrices against
// the phase weights and the folded 5-tap filter written out in
// SPEC-hires 0.5 (an independent derivation), including edge clamping.
func TestResampleMatrices(t *testing.T) {
	const n = 7
	at := func(i int) int { return min(max(i, 0), n-1) }
	want := make([]float64, 2*n*n)
	for i := 0; i < n; i++ {
		for k, w := range []float64{-0.03515625, 0.26171875, 0.87890625, -0.10546875} {
			want[(2*i)*n+at(i-2+k)] += w
		}
		for k, w := range []float64{-0.10546875, 0.87890625, 0.26171875, -0.03515625} {
			want[(2*i+1)*n+at(i-1+k)] += w
		}
	}
	compareMatrix(t, "bicubic2", bicubic2Matrix(n), want)
	want = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k, w := range []float64{-0.01904296875, 0.08984375, 0.8583984375, 0.08984375, -0.01904296875} {
			want[i*n+at(i-2+k)] += w
		}
	}
	compareMatrix(t, "updown", updownMatrix(n), want)
}

func compareMatrix(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-7 {
			t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestZooOpGradients checks the new ops (and their adjoints, which are
// their derivatives' derivatives) against finite differences.
func TestZooOpGradients(t *testing.T) {
	um, _ := unfoldMatrix(6, 4, 2, 1)
	cases := []gradCase{
		{"bicubicUp", [][]int{{2 * 9, 3}}, func(in []*G.Node) *G.Node { return bicubicUp(in[0], 2, 3, 3) }},
		{"updown", [][]int{{2 * 16, 3}}, func(in []*G.Node) *G.Node { return updown(in[0], 2, 4, 3) }},
		{"unfoldAdjoint", [][]int{{2, 12, 6}}, func(in []*G.Node) *G.Node {
			return applyAxisMap(in[0], "unfold", um, 12, 2, 6, 6, true, []int{2, 6, 6})
		}},
		{"unfold", [][]int{{1, 3, 6, 6}}, func(in []*G.Node) *G.Node { return unfold(in[0], 1, 6, 4, 2, 1) }},
		{"pow", [][]int{{3, 4}}, func(in []*G.Node) *G.Node {
			return pow(G.Must(G.HadamardProd(in[0], in[0])), 1, 1e-8, -0.5)
		}},
		{"pixelNorm", [][]int{{3, 5}}, func(in []*G.Node) *G.Node { return pixelNorm(in[0]) }},
		{"partition", [][]int{{2 * 16, 3}}, func(in []*G.Node) *G.Node { return partition(in[0], 2, 4, 2, 3) }},
		{"unpartition", [][]int{{2 * 16, 3}}, func(in []*G.Node) *G.Node { return unpartition(in[0], 2, 4, 2, 3) }},
		// pixelNorm's gradient as a function (the double backprop path).
		{"pixelNormGrad", [][]int{{3, 5}, {3, 5}}, func(in []*G.Node) *G.Node {
			y := G.Must(G.Sum(G.Must(G.HadamardProd(pixelNorm(in[0]), in[1]))))
			g, err := G.Grad(y, in[0])
			if err != nil {
				panic(err)
			}
			ResetDerivatives(in[0].Graph())
			return g[0]
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGrad(t, c) })
	}
}

// TestUnfoldIsConvolution compares the im2col route with a direct
// zero-padded strided convolution.
func TestUnfoldIsConvolution(t *testing.T) {
	const size, k, s, pad, batch = 6, 4, 2, 1, 2
	rng := rand.New(rand.NewSource(2))
	img := make([]float32, batch*3*size*size)
	for i := range img {
		img[i] = float32(rng.NormFloat64())
	}
	g := G.NewGraph()
	in := G.NewTensor(g, G.Float32, 4, G.WithShape(batch, 3, size, size), G.WithName("img"), G.WithValue(newDense(img, batch, 3, size, size)))
	out := unfold(in, batch, size, k, s, pad)
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := f32(out.Value())
	n := (size+2*pad-k)/s + 1
	for b := 0; b < batch; b++ {
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				for c := 0; c < 3; c++ {
					for i := 0; i < k; i++ {
						for j := 0; j < k; j++ {
							r, q := y*s+i-pad, x*s+j-pad
							want := float32(0)
							if r >= 0 && r < size && q >= 0 && q < size {
								want = img[((b*3+c)*size+r)*size+q]
							}
							row := (b*n+y)*n + x
							if v := got[row*3*k*k+(c*k+i)*k+j]; v != want {
								t.Fatalf("patch (%d,%d,%d) tap (%d,%d,%d) = %v, want %v", b, y, x, c, i, j, v, want)
							}
						}
					}
				}
			}
		}
	}
}

// tinyZoo returns small configs of the new families for derivative tests.
func tinyZoo(name string) *model.Config {
	c := &model.Config{
		Version: model.Final, LatentDim: 8, GDim: 128, BottomWidth: 4, GDepths: []int{1, 1, 1},
		GHeads: 2, MLPRatio: 2, ImageSize: 16, DKind: model.DScale2, DDim: 16, DDepth: 1, DPatch: 2, DHeads: 2,
	}
	switch name {
	case "stl": // final G and S2N D with PixelNorm
		c.GRelPos, c.GNorm, c.DRelPos, c.DNorm = true, model.PixelNorm, true, model.PixelNorm
	case "norp": // ViT_custom G, ViT_custom_scale2 D
		c.GArch, c.DRelPos, c.DNoNoise = model.GCustom, true, true
	case "celeba256":
		c.GArch, c.GDim, c.BottomWidth, c.GDepths, c.GNorm = model.GCeleba256, 256, 1, []int{0, 1, 1, 1, 1, 1}, model.PixelNorm
		c.GWindows, c.ImageSize = []int{1, 2, 2, 4, 4, 4}, 32
		c.DKind, c.DWindow, c.DPatch = model.DCeleba256, 2, 4
	case "church256":
		c.GArch, c.GDim, c.BottomWidth, c.GDepths, c.GNorm = model.GChurch256, 256, 1, []int{1, 1, 1, 1, 1, 1}, model.PixelNorm
		c.GWindows, c.ImageSize = []int{1, 2, 2, 4, 4, 4}, 32
		c.DKind, c.DWindow, c.DPatch, c.DRelPos = model.DScale3, 2, 4, true
	}
	return c
}

// randomWeights fills params with InitWeights plus a seeded perturbation
// in a fixed order, so noise strengths and zero-initialised embeddings are
// non-zero.
func randomWeights(ps []model.Param, seed int64, scale float64) model.Weights {
	rng := rand.New(rand.NewSource(seed))
	w := model.InitWeights(ps, rng)
	for _, name := range slices.Sorted(maps.Keys(w)) {
		s := scale
		if len(w[name].F32) == 1 {
			s = 0.5 // noise strengths
		}
		for i := range w[name].F32 {
			w[name].F32[i] += float32(s * rng.NormFloat64())
		}
	}
	return w
}

// TestZooPenaltyGradient: the WGAN-GP penalty sum((dD/dx)^2) of each new D
// family, differentiated with respect to its weights (second order
// through PixelNorm, windows, pooling, convolutions and noise), against
// finite differences of the penalty.
func TestZooPenaltyGradient(t *testing.T) {
	for _, name := range []string{"stl", "norp", "celeba256", "church256"} {
		t.Run(name, func(t *testing.T) {
			cfg := tinyZoo(name)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			w := randomWeights(cfg.DParams(), 3, 0.2)
			d, err := BuildDiscriminator(cfg, w, 2)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(4))
			d.SetNoise(rng)
			for i := range f32(d.Input.Value()) {
				f32(d.Input.Value())[i] = float32(rng.Float64()*2 - 1)
			}
			gx, err := G.Grad(G.Must(G.Sum(d.Output)), d.Input)
			if err != nil {
				t.Fatal(err)
			}
			ResetDerivatives(d.Graph)
			penalty := G.Must(G.Sum(G.Must(G.Square(gx[0]))))
			names := slices.DeleteFunc(sampleParams(d), func(n string) bool { // no effect on the penalty
				return n == model.DHeadB || n == cfg.DNormB()
			})
			checkNetGrad(t, d, penalty, names, fdcheck.Options{Eps: 3e-3, Floor: 0.1, Samples: 4})
		})
	}
}

// TestZooGeneratorGradient: first-order gradients of a random projection of
// each new G family's output with respect to its weights (cross-attention,
// noise strengths, tables, embeddings, bicubic and updown stages).
func TestZooGeneratorGradient(t *testing.T) {
	for _, name := range []string{"stl", "norp", "celeba256", "church256"} {
		t.Run(name, func(t *testing.T) {
			cfg := tinyZoo(name)
			w := randomWeights(cfg.GParams(), 5, 0.02)
			g, err := BuildGenerator(cfg, w, 2)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(6))
			g.SetNoise(rng)
			for i := range f32(g.Input.Value()) {
				f32(g.Input.Value())[i] = float32(rng.NormFloat64())
			}
			r := make([]float32, g.Output.Shape().TotalSize())
			for i := range r {
				r[i] = float32(rng.NormFloat64())
			}
			rn := G.NewTensor(g.Graph, G.Float32, g.Output.Dims(), G.WithShape(g.Output.Shape()...), G.WithName("r"), G.WithValue(newDense(r, g.Output.Shape()...)))
			loss := G.Must(G.Sum(G.Must(G.HadamardProd(g.Output, rn))))
			// With a 1x1 bottom map the cross-attention memory and the
			// first stage have one token: their softmax is constant, so
			// cross q/k and the first table have no gradient here
			// (TestCrossAttentionGradient covers q/k with 4 memory tokens).
			names := slices.DeleteFunc(sampleParams(g), func(n string) bool {
				return strings.Contains(n, "q_transform") || strings.Contains(n, "k_transform") ||
					strings.HasPrefix(n, "blocks_1.") && strings.HasSuffix(n, "bias_table")
			})
			checkDirectional(t, g, loss, names)
		})
	}
}

// sampleParams picks the weights to check: everything but the large l1 /
// embedding matrices' duplicates, in name order.
func sampleParams(n *Net) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(n.Params)) {
		if strings.HasSuffix(name, "fc2.weight") || strings.HasSuffix(name, "proj.weight") {
			continue // one matrix per block type is enough: qkv, fc1, q/k/v transforms stay
		}
		names = append(names, name)
	}
	return names
}

func checkNetGrad(t *testing.T, n *Net, cost *G.Node, names []string, o fdcheck.Options) {
	t.Helper()
	var wrt G.Nodes
	for _, name := range names {
		wrt = append(wrt, n.Params[name])
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(n.Graph)
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(cost.Value().Data().(float32))
	}
	run()
	if got := fdcheck.Check(t, gradInputs(wrt, grads), run, o); got < 3*len(wrt) {
		t.Errorf("checked only %d derivatives", got)
	}
}

// checkDirectional compares, per weight tensor, the derivative of cost
// along the tensor's own gradient direction (|grad|) with a central
// difference along that direction. One direction per tensor sums many
// entries, so float32 rounding in a deep generator does not drown it.
func checkDirectional(t *testing.T, n *Net, cost *G.Node, names []string) {
	t.Helper()
	var wrt G.Nodes
	for _, name := range names {
		wrt = append(wrt, n.Params[name])
	}
	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(n.Graph)
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(cost.Value().Data().(float32))
	}
	run()
	for _, in := range gradInputs(wrt, grads) {
		var norm float64
		for _, g := range in.Grad {
			norm += float64(g) * float64(g)
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			t.Errorf("%s: zero gradient", in.Name)
			continue
		}
		const h = 3e-2 // smaller steps drown in float32 rounding
		old := append([]float32(nil), in.Values...)
		step := func(s float64) float64 {
			for i, g := range in.Grad {
				in.Values[i] = old[i] + float32(s*float64(g)/norm)
			}
			return run()
		}
		num := (step(h) - step(-h)) / (2 * h)
		copy(in.Values, old)
		if math.Abs(num-norm) > 0.03*norm+2e-4 {
			t.Errorf("%s: |grad| %.6g, finite difference along it %.6g", in.Name, norm, num)
		}
	}
}

// TestCrossAttentionGradient checks Celeba256_gen's cross-attention with
// respect to its queries' tokens (windowed order) and the memory.
func TestCrossAttentionGradient(t *testing.T) {
	cfg := tinyZoo("celeba256")
	cfg.BottomWidth, cfg.ImageSize = 2, 64
	blk := cfg.GBlocks()[1][0]
	w := randomWeights(cfg.GParams(), 7, 0.02)
	const batch = 2
	m := cfg.StageTokens(0)
	checkGrad(t, gradCase{"crossAttention", [][]int{{batch * 16, blk.Dim}, {batch * m, blk.Dim}}, func(in []*G.Node) *G.Node {
		b := &builder{net: &Net{Config: cfg, Batch: batch, Graph: in[0].Graph(), Params: map[string]*G.Node{}}, w: w}
		b.memory = in[1]
		return b.crossAttention(in[0], blk, blockOpts{batch: batch * 4, tokens: 4})
	}})
}
