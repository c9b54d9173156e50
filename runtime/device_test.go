package runtime

import (
	"math"
	"math/rand"
	"os"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/onnx"
)

// openDevice opens the CPU provider's memory through the device shim.
func openDevice(t *testing.T) (*Env, *Device) {
	t.Helper()
	env := openEnv(t, Options{})
	d, err := env.OpenDevice(TrainingSessionOptions(CPU), Memory{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return env, d
}

// randomBits is n floats with every bit pattern class: normal, subnormal,
// signed zeros, infinities and NaN payloads.
func randomBits(n int, seed int64) []float32 {
	r := rand.New(rand.NewSource(seed))
	x := make([]float32, n)
	for i := range x {
		x[i] = math.Float32frombits(r.Uint32())
	}
	copy(x, []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), 1e-40, math.Float32frombits(0x7fc00123)})
	return x
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d is %#x, want %#x", what, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
	}
}

// TestDeviceTensorRoundTrip: Go -> device tensor -> Go is bit-exact, for
// the tensor and for a view of it with another shape.
func TestDeviceTensorRoundTrip(t *testing.T) {
	_, d := openDevice(t)
	if d.Memory() != (Memory{Name: MemoryCPU}) {
		t.Fatalf("memory %v, want Cpu:0", d.Memory())
	}
	shape := []int{3, 5, 7}
	src := randomBits(105, 1)
	dt, err := d.NewTensor(shape)
	if err != nil {
		t.Fatal(err)
	}
	if !dt.OnDevice() || dt.Len() != 105 {
		t.Fatalf("tensor on device %v, %d values", dt.OnDevice(), dt.Len())
	}
	if err := d.Upload(dt, src); err != nil {
		t.Fatal(err)
	}
	back := make([]float32, len(src))
	if err := d.Download(dt, back); err != nil {
		t.Fatal(err)
	}
	sameBits(t, "round trip", back, src)
	flat, err := d.View(dt, []int{105})
	if err != nil {
		t.Fatal(err)
	}
	clear(back)
	if err := d.Download(flat, back); err != nil {
		t.Fatal(err)
	}
	sameBits(t, "flat view", back, src)
	if _, err := d.View(dt, []int{104}); err == nil {
		t.Error("a view of another size was accepted")
	}
	if err := d.Upload(dt, src[:3]); err == nil {
		t.Error("an upload of the wrong size was accepted")
	}
}

// affineModel is y = x*W + b, with W and b inputs (the state a trainer
// keeps), and w2 = W - 0.5*gW: an update the session writes in place.
func affineModel(t *testing.T) []byte {
	t.Helper()
	g := onnx.NewGraph("affine")
	x := g.Input("x", 4, 8)
	w := g.Input("w", 8, 6)
	b := g.Input("b", 6)
	gw := g.Input("gw", 8, 6)
	g.Output(g.Op("Add", []string{g.Op("MatMul", []string{x, w}), b}), "y", 4, 6)
	g.Output(g.Op("Sub", []string{w, g.Op("Mul", []string{gw, g.Float(0.5)})}), "w2", 8, 6)
	data, err := (&onnx.Model{Graph: g}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// plainRun runs data with onnxruntime_go's Run over Go memory, as
// runtime.Session does for every session today.
func plainRun(t *testing.T, env *Env, data []byte, in map[string][]float32, shapes map[string][]int, names, outs []string) [][]float32 {
	t.Helper()
	s, err := env.NewSession(data, names, outs, TrainingSessionOptions(CPU))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var vals, outVals []ort.Value
	for _, n := range names {
		v, err := ort.NewTensor(ort.NewShape(int64s(shapes[n])...), in[n])
		if err != nil {
			t.Fatal(err)
		}
		defer v.Destroy()
		vals = append(vals, v)
	}
	outVals = make([]ort.Value, len(outs))
	if err := s.Run(vals, outVals); err != nil {
		t.Fatal(err)
	}
	var res [][]float32
	for _, v := range outVals {
		res = append(res, append([]float32(nil), v.(*ort.Tensor[float32]).GetData()...))
		v.Destroy()
	}
	return res
}

func int64s(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, n := range shape {
		out[i] = int64(n)
	}
	return out
}

// TestBoundSessionMatchesPlainRun: the affine graph with W and b in device
// tensors, y bound to the device's memory (BindOutputToDevice) and w2
// written in place into W, gives bit for bit what the plain run gives, and
// the in-place update holds over two runs.
func TestBoundSessionMatchesPlainRun(t *testing.T) {
	env, d := openDevice(t)
	data := affineModel(t)
	shapes := map[string][]int{"x": {4, 8}, "w": {8, 6}, "b": {6}, "gw": {8, 6}}
	in := map[string][]float32{}
	for i, n := range []string{"x", "w", "b", "gw"} {
		in[n] = randn(total(shapes[n]), int64(i+10))
	}
	names, outs := []string{"x", "w", "b", "gw"}, []string{"y", "w2"}
	want := plainRun(t, env, data, in, shapes, names, outs)

	s, err := d.NewSession(data)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dev := map[string]*Tensor{}
	for _, n := range []string{"w", "b"} {
		if dev[n], err = d.NewTensor(shapes[n]); err != nil {
			t.Fatal(err)
		}
		if err := d.Upload(dev[n], in[n]); err != nil {
			t.Fatal(err)
		}
		must(t, s.BindInput(n, dev[n]))
	}
	for _, n := range []string{"x", "gw"} {
		h, err := d.HostTensor(shapes[n], in[n])
		if err != nil {
			t.Fatal(err)
		}
		must(t, s.BindInput(n, h))
	}
	must(t, s.BindOutputToDevice("y"))
	must(t, s.BindOutput("w2", dev["w"]))
	must(t, s.Run())
	y := outputOnDevice(t, d, s, []int{4, 6})
	sameBits(t, "y bound to the device", y, want[0])
	w := make([]float32, 48)
	must(t, d.Download(dev["w"], w))
	sameBits(t, "w updated in place", w, want[1])

	// A second run reads the updated W.
	in["w"] = w
	want2 := plainRun(t, env, data, in, shapes, names, outs)
	must(t, s.Run())
	sameBits(t, "y, second run", outputOnDevice(t, d, s, []int{4, 6}), want2[0])
	must(t, d.Download(dev["w"], w))
	sameBits(t, "w, second run", w, want2[1])
}

// outputOnDevice downloads the first bound output, which must be a device
// tensor of shape.
func outputOnDevice(t *testing.T, d *Device, s *BoundSession, shape []int) []float32 {
	t.Helper()
	outs, err := s.OutputsOnDevice()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, o := range outs {
			o.Close()
		}
	}()
	if len(outs) != 2 || !outs[0].OnDevice() || len(outs[0].Shape()) != len(shape) || outs[0].Len() != total(shape) {
		t.Fatalf("bound outputs: %d, first of shape %v", len(outs), outs[0].Shape())
	}
	y := make([]float32, total(shape))
	must(t, d.Download(outs[0], y))
	return y
}

func randn(n int, seed int64) []float32 {
	r := rand.New(rand.NewSource(seed))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeviceCUDAWithoutProvider: asking for CUDA memory from a library
// that cannot run CUDA is an error naming CUDA and what is missing, never
// a panic. (With the CUDA set and a GPU it must open.)
func TestDeviceCUDAWithoutProvider(t *testing.T) {
	lib := testkit.RequireORT(t, FindLibrary)
	env := openEnv(t, Options{LibraryPath: lib})
	d, err := env.OpenDevice(TrainingSessionOptions(CUDA), Memory{})
	if err == nil {
		d.Close()
		if _, statErr := os.Stat("/dev/nvidia0"); statErr != nil {
			t.Fatal("CUDA memory opened on a machine without a GPU")
		}
		t.Skip("CUDA works here")
	}
	msg := err.Error()
	named := false
	for _, what := range []string{"libonnxruntime_providers", "CUDAExecutionProvider", "libcu", "driver"} {
		named = named || strings.Contains(msg, what)
	}
	if !strings.Contains(msg, "cuda provider:") || !named {
		t.Fatalf("error does not say what is missing: %v", err)
	}
	t.Logf("%v", err)
}
