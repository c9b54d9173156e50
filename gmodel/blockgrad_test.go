package gmodel

import (
	"maps"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit/fdcheck"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// TestBlockGradients checks the gradient of one block of each kind (plain
// v1, masked v1, relative-position final, final D with attention noise)
// with respect to its input and every weight, by finite differences.
func TestBlockGradients(t *testing.T) {
	const batch, width, dim = 2, 2, 8
	tokens := width * width
	mk := func(noise, rel, norm bool) model.Block {
		b := model.Block{Prefix: "b.", Dim: dim, Heads: 2, Hidden: 16, Noise: noise, NormLevel: norm}
		if rel {
			b.Window = width
		}
		return b
	}
	cases := map[string]struct {
		blk  model.Block
		mask bool
	}{
		"v1":        {mk(false, false, false), false},
		"v1-masked": {mk(false, false, false), true},
		"final-G":   {mk(false, true, true), false},
		"final-D":   {mk(true, true, true), false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { checkBlockGrad(t, c.blk, c.mask, batch, tokens) })
	}
}

func checkBlockGrad(t *testing.T, blk model.Block, masked bool, batch, tokens int) {
	rng := rand.New(rand.NewSource(2))
	w := model.InitWeights(blk.Params(), rng)
	for _, name := range slices.Sorted(maps.Keys(w)) { // a fixed order: the same weights every run
		tt := w[name]
		for i := range tt.F32 { // large enough that every tensor matters
			tt.F32[i] += float32(0.3 * rng.NormFloat64())
		}
	}
	cfg, _ := model.Preset("tiny")
	b := newBuilder(cfg, w, batch)
	x := b.input("x", batch*tokens, blk.Dim)
	for i, v := range f32(x.Value()) {
		_ = v
		f32(x.Value())[i] = float32(rng.NormFloat64())
	}
	o := blockOpts{batch: batch, tokens: tokens}
	if masked {
		b.net.mask = b.input("mask", tokens, tokens)
		o.mask = b.net.mask
		b.net.Config.MaskSchedule = []model.MaskStep{{UntilEpoch: 10, Window: 1}}
		b.net.SetEpoch(0)
	}
	out := b.block(x, blk, o)
	b.net.SetNoise(rng)
	r := b.input("r", out.Shape()...)
	for i := range f32(r.Value()) {
		f32(r.Value())[i] = float32(rng.NormFloat64())
	}
	loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, r))))
	names := make([]string, 0, len(b.net.Params))
	for n := range b.net.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	wrt := G.Nodes{x}
	for _, n := range names {
		wrt = append(wrt, b.net.Params[n])
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(b.net.Graph)
	defer vm.Close()
	run := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(loss.Value().Data().(float32))
	}
	run()
	fdcheck.Check(t, gradInputs(wrt, grads), run, fdcheck.Options{Samples: 7})
}

// gradInputs pairs each node's live values with its symbolic gradient
// (copied: the next run overwrites the gradient nodes).
func gradInputs(wrt, grads G.Nodes) []fdcheck.Input {
	in := make([]fdcheck.Input, len(wrt))
	for i, n := range wrt {
		in[i] = fdcheck.Input{Name: n.Name(), Values: f32(n.Value()), Grad: append([]float32(nil), f32(grads[i].Value())...)}
	}
	return in
}
