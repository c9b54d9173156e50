package lower

import (
	"errors"
	"math"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stepPair is a step graph and an update graph over shared Go buffers, as
// the trainer's: step reads w [2,3] (state), x and a scalar s and writes
// y = sum(w*x) (read by Go) and g = s*x into gBuf (bound); update reads w
// flat [6] and g (both state) and writes w - g into w's own buffer.
type stepPair struct {
	step, update *Lowerer
	stepBind     Bind
	updateBind   Bind
	w, x         []float32
}

func over(g *G.ExprGraph, name string, buf []float32, shape ...int) *G.Node {
	return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name),
		G.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf))))
}

func newStepPair(t *testing.T) *stepPair {
	t.Helper()
	p := &stepPair{w: []float32{0.5, -1, 2, 0.25, 3, -0.75}, x: make([]float32, 6)}
	gBuf := make([]float32, 6)

	sg := G.NewGraph()
	w := over(sg, "w", p.w, 2, 3)
	x := over(sg, "x", p.x, 2, 3)
	s := G.NewScalar(sg, tensor.Float32, G.WithName("s"), G.WithValue(G.NewF32(0.125)))
	p.step = New("step")
	p.step.MarkState(w)
	if err := p.step.Output(G.Must(G.Sum(G.Must(G.HadamardProd(w, x)))), "y"); err != nil {
		t.Fatal(err)
	}
	if err := p.step.Output(G.Must(G.Mul(x, s)), "g"); err != nil {
		t.Fatal(err)
	}
	p.stepBind = Bind{"g": gBuf}

	ug := G.NewGraph()
	wf := over(ug, "wflat", p.w, 6)
	gf := over(ug, "gflat", gBuf, 6)
	p.update = New("update")
	p.update.MarkState(wf, gf)
	if err := p.update.Output(G.Must(G.Sub(wf, gf)), "w2"); err != nil {
		t.Fatal(err)
	}
	p.updateBind = Bind{"w2": p.w}
	return p
}

// run does three step+update rounds with a new x each, returning the ys.
func (p *stepPair) run(t *testing.T, step, update *Session) []float32 {
	t.Helper()
	var ys []float32
	for r := 0; r < 3; r++ {
		for i := range p.x {
			p.x[i] = float32(math.Sin(float64(7*r + i)))
		}
		out, err := step.Run()
		if err != nil {
			t.Fatal(err)
		}
		ys = append(ys, out[0][0])
		if _, err := update.Run(); err != nil {
			t.Fatal(err)
		}
	}
	return ys
}

// TestDeviceStateMatchesPlain: the same two graphs run with their state on
// a Device ("Cpu" memory through the device shim: the path CUDA takes)
// and over Go memory (OpenWith) give the same bits; on the device the Go
// buffers keep their initial values until Download; the bytes moved per
// run are the same.
func TestDeviceStateMatchesPlain(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	o := runtime.TrainingSessionOptions(runtime.CPU)

	plain := newStepPair(t)
	ps, err := OpenWith(plain.step, o, "", plain.stepBind)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	pu, err := OpenWith(plain.update, o, "", plain.updateBind)
	if err != nil {
		t.Fatal(err)
	}
	defer pu.Close()
	wantY := plain.run(t, ps, pu)

	dev := newStepPair(t)
	initial := append([]float32(nil), dev.w...)
	d, err := OpenDevice(o, "", runtime.Memory{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ds, err := OpenOn(dev.step, d, dev.stepBind)
	if err != nil {
		t.Fatal(err)
	}
	du, err := OpenOn(dev.update, d, dev.updateBind)
	if err != nil {
		t.Fatal(err)
	}
	gotY := dev.run(t, ds, du)
	same(t, "y", gotY, wantY)
	same(t, "w in Go before Download", dev.w, initial)
	if err := d.Download(); err != nil {
		t.Fatal(err)
	}
	same(t, "w after Download", dev.w, plain.w)
	if got, want := d.Bytes(), 4*12; got != want {
		t.Errorf("state on the device: %d bytes, want %d (w and g)", got, want)
	}
	if len(ds.Moved) != len(ps.Moved) {
		t.Errorf("moved %v, plain path %v", ds.Moved, ps.Moved)
	}
	for i := range ds.Moved {
		if ds.Moved[i] != ps.Moved[i] {
			t.Errorf("moved %v, plain path %v", ds.Moved, ps.Moved)
		}
	}
	// Go writes, then Upload: the next run sees them.
	for i := range dev.w {
		dev.w[i] = 1
	}
	if err := d.Upload(); err != nil {
		t.Fatal(err)
	}
	out, err := ds.Run()
	if err != nil {
		t.Fatal(err)
	}
	var sum float32
	for _, v := range dev.x {
		sum += v
	}
	if math.Abs(float64(out[0][0]-sum)) > 1e-5 {
		t.Errorf("after Upload y = %g, want sum(x) = %g", out[0][0], sum)
	}
	if err := errors.Join(ds.Close(), du.Close()); err != nil {
		t.Fatal(err)
	}
}

func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %g, want %g (bits differ)", what, i, got[i], want[i])
		}
	}
}
