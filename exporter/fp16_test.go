package exporter

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/onnx"
)

// fp16GoldenTol bounds max|got-want| / max|want| of a float16 export
// against the float32 PyTorch goldens. Rounding a weight or activation to
// float16 changes it by at most 2^-11 ~ 4.9e-4 relative; a block reads
// each value a handful of times (LayerNorm, the qkv/proj/fc Gemms, the
// residual sum), the golden networks have up to a dozen blocks, and
// LayerNorm divides by a row's standard deviation, which amplifies the
// rounding of rows that are nearly constant. About forty float16 ulps at
// the output's largest value, 2e-2, bounds that with margin while still
// catching a real bug (a wrong cast, a value read as the wrong type, an
// overflow), which gives errors of order 1.
const fp16GoldenTol = 2e-2

// TestFloat16Bits checks the float32 -> float16 rounding: every half
// round-trips, known values and ties, and, for random floats, that no
// neighbouring half is nearer.
func TestFloat16Bits(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := Float16ToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			if g := Float32ToFloat16(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, g)
			}
			continue
		}
		if g := Float32ToFloat16(f); g != uint16(h) {
			t.Fatalf("half %#04x = %g -> %#04x", h, f, g)
		}
	}
	cases := []struct {
		f float32
		h uint16
	}{
		{1, 0x3c00}, {0.5, 0x3800}, {-2, 0xc000}, {float32(math.Sqrt2), 0x3da8},
		{65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00}, {1e6, 0x7c00}, {-1e6, 0xfc00},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0x0000},
		{float32(math.Ldexp(1.5, -25)), 0x0001}, {float32(math.Ldexp(3, -25)), 0x0002},
		{float32(math.Ldexp(1, -14)), 0x0400}, {float32(math.Ldexp(1023.5, -24)), 0x0400},
		{1 + float32(math.Ldexp(1, -11)), 0x3c00}, {1 + float32(math.Ldexp(3, -11)), 0x3c02},
		{float32(math.Copysign(0, -1)), 0x8000}, {1e-30, 0}, {float32(math.Inf(1)), 0x7c00},
	}
	for _, c := range cases {
		if g := Float32ToFloat16(c.f); g != c.h {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.f, g, c.h)
		}
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		f := float32(math.Ldexp(rng.Float64()*2-1, rng.Intn(43)-26)) // |f| < 65536
		h := Float32ToFloat16(f)
		if math.Abs(float64(f)) >= 65520 {
			if h&0x7fff != 0x7c00 {
				t.Fatalf("%g -> %#04x, want an infinity", f, h)
			}
			continue
		}
		d := math.Abs(float64(Float16ToFloat32(h)) - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7fff >= 0x7c00 || n&0x7fff == 0x7fff {
				continue
			}
			if dn := math.Abs(float64(Float16ToFloat32(n)) - float64(f)); dn < d {
				t.Fatalf("%g -> %#04x (err %g) but %#04x is nearer (%g)", f, h, d, n, dn)
			}
		}
	}
}

// TestParityFloat16Golden exports every golden case in float16, runs it on ONNX
// Runtime's CPU provider and compares with the float32 PyTorch outputs. The
// CPU provider runs operators that lack a float16 kernel in float32 between
// casts, so this measures mainly the weights' rounding and the graph's
// correctness (casts, types), not the GPU's float16 arithmetic: the device
// script measures that (tgan bench --fp16 --compare-cpu).
func TestParityFloat16Golden(t *testing.T) {
	env := openEnv(t, 0)
	cases, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cases {
		dir := filepath.Join(goldenDir, c.Name())
		if !fileExists(filepath.Join(dir, "official.pth")) || !fileExists(filepath.Join(dir, "g.npy")) {
			continue
		}
		if slices.Contains(zooGoldens, c.Name()) {
			continue // noise inputs, PixelNorm refusals: TestZooFloat16
		}
		ran++
		t.Run(c.Name(), func(t *testing.T) {
			ck, _, err := pth.Import(filepath.Join(dir, "official.pth"), pth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg := ck.Config
			z, zShape := readNpy(t, dir, "z.npy")
			want, _ := readNpy(t, dir, "g.npy")
			hasD := fileExists(filepath.Join(dir, "d.npy"))
			for _, keep := range [][]string{nil, {"LayerNormalization", "Softmax"}} {
				gm, err := Generator(cfg, ck.Sampler(), nil)
				if err != nil {
					t.Fatal(err)
				}
				fp32 := initializerTypes(t, gm)
				if err := Float16(gm, keep...); err != nil {
					t.Fatal(err)
				}
				checkFloat16Model(t, gm, fp32, keep)
				got, shape := runFile(t, env, gm, "g16.onnx", z, int64s(zShape))
				if !equalShape(shape, int64(zShape[0]), 3, int64(cfg.ImageSize), int64(cfg.ImageSize)) {
					t.Fatalf("G output shape %v", shape)
				}
				e := testkit.RelErr(got, want)
				t.Logf("G fp16 (fp32 ops %v) max rel err %.3g", keep, e)
				if e > fp16GoldenTol {
					t.Errorf("G fp16 (fp32 ops %v): max rel err %.3g > %.0g", keep, e, fp16GoldenTol)
				}
				if !hasD {
					continue
				}
				dm, err := Discriminator(cfg, ck.Dis, nil)
				if err != nil {
					t.Fatal(err)
				}
				fp32 = initializerTypes(t, dm)
				if err := Float16(dm, keep...); err != nil {
					t.Fatal(err)
				}
				checkFloat16Model(t, dm, fp32, keep)
				img, imgShape := readNpy(t, dir, "images.npy")
				wantD, _ := readNpy(t, dir, "d.npy")
				gotD, _ := runFile(t, env, dm, "d16.onnx", img, int64s(imgShape))
				e = testkit.RelErr(gotD, wantD)
				t.Logf("D fp16 (fp32 ops %v) max rel err %.3g", keep, e)
				if e > fp16GoldenTol {
					t.Errorf("D fp16 (fp32 ops %v): max rel err %.3g > %.0g", keep, e, fp16GoldenTol)
				}
			}
		})
	}
	if ran < 5 {
		t.Errorf("found %d golden cases, want at least 5", ran)
	}
}

// initializerTypes maps each initializer of m to its data type.
func initializerTypes(t *testing.T, m *onnx.Model) map[string]onnx.TensorProto_DataType {
	t.Helper()
	gp, err := m.Graph.Proto()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]onnx.TensorProto_DataType{}
	for _, in := range gp.Initializer {
		types[in.GetName()] = onnx.TensorProto_DataType(in.GetDataType())
	}
	return types
}

// checkFloat16Model checks a converted model against the initializer types
// it had before: the same names, FLOAT turned FLOAT16 (except LayerNorm
// parameters when LayerNormalization is kept in float32), int64 unchanged,
// inputs and outputs still FLOAT, and the precision metadata.
func checkFloat16Model(t *testing.T, m *onnx.Model, before map[string]onnx.TensorProto_DataType, keep []string) {
	t.Helper()
	after := initializerTypes(t, m)
	if len(after) != len(before) {
		t.Errorf("%d initializers, had %d", len(after), len(before))
	}
	keepLN := len(keep) > 0
	for name, dt := range before {
		want := dt
		if dt == onnx.TensorProto_FLOAT {
			want = onnx.TensorProto_FLOAT16
			if keepLN && strings.Contains(name, "norm") && (strings.HasSuffix(name, ".weight") || strings.HasSuffix(name, ".bias")) {
				want = onnx.TensorProto_FLOAT
			}
		}
		if after[name] != want {
			t.Errorf("initializer %q is %v, want %v", name, after[name], want)
		}
	}
	gp, _ := m.Graph.Proto()
	for _, v := range append(append([]*onnx.ValueInfoProto{}, gp.Input...), gp.Output...) {
		if !isFloatValue(v) {
			t.Errorf("graph input/output %q is not FLOAT", v.GetName())
		}
	}
	if m.Metadata[KeyPrecision] != PrecisionFP16 {
		t.Errorf("metadata %s = %q", KeyPrecision, m.Metadata[KeyPrecision])
	}
}

// TestExportFP16 runs Export with FP16: metadata, a smaller file, the same
// initializer names, and that the default export says fp32.
func TestExportFP16(t *testing.T) {
	cfg := smallConfigs(t)["final_small"]
	gw, dw := randomNets(cfg, 3)
	dir32, dir16 := t.TempDir(), t.TempDir()
	if _, err := Export(Source{Config: cfg, Gen: gw, Dis: dw}, dir32, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(Source{Config: cfg, Gen: gw, Dis: dw}, dir16, Options{FP16: true}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{GeneratorFile, DiscriminatorFile} {
		m32, err := onnx.ReadFile(filepath.Join(dir32, f))
		if err != nil {
			t.Fatal(err)
		}
		m16, err := onnx.ReadFile(filepath.Join(dir16, f))
		if err != nil {
			t.Fatal(err)
		}
		if p := onnx.Metadata(m32)[KeyPrecision]; p != PrecisionFP32 {
			t.Errorf("%s fp32 export: %s = %q", f, KeyPrecision, p)
		}
		if p := onnx.Metadata(m16)[KeyPrecision]; p != PrecisionFP16 {
			t.Errorf("%s fp16 export: %s = %q", f, KeyPrecision, p)
		}
		names := func(mp *onnx.ModelProto) string {
			var s []string
			for _, in := range mp.GetGraph().GetInitializer() {
				s = append(s, in.GetName())
			}
			return strings.Join(s, ",")
		}
		if names(m32) != names(m16) {
			t.Errorf("%s: fp16 initializer names differ from fp32", f)
		}
		// The float weights halve; int64 tensors (the relative-position
		// index, shapes) stay as they are.
		b32, b16 := floatBytes(m32), floatBytes(m16)
		st32, _ := os.Stat(filepath.Join(dir32, f))
		st16, _ := os.Stat(filepath.Join(dir16, f))
		t.Logf("%s: file fp32 %d bytes, fp16 %d bytes; float weights %d -> %d bytes", f, st32.Size(), st16.Size(), b32, b16)
		if b32 == 0 || b16*2 != b32 {
			t.Errorf("%s: float weights %d bytes in fp16, %d in fp32: want half", f, b16, b32)
		}
	}
}

// floatBytes is the size of the FLOAT and FLOAT16 initializers' data.
func floatBytes(mp *onnx.ModelProto) int {
	n := 0
	for _, in := range mp.GetGraph().GetInitializer() {
		switch onnx.TensorProto_DataType(in.GetDataType()) {
		case onnx.TensorProto_FLOAT, onnx.TensorProto_FLOAT16:
			n += len(in.GetRawData())
		}
	}
	return n
}

// TestFloat16Errors: an operator outside the known list, a weight beyond
// float16's range and an op that cannot be kept in float32 are errors.
func TestFloat16Errors(t *testing.T) {
	build := func(op string, w float32) *onnx.Model {
		g := onnx.NewGraph("t")
		x := g.Input("x", onnx.Batch, 2)
		y := g.Op("Mul", []string{x, g.Initializer("w", []int{2}, []float32{1, w})})
		y = g.Op(op, []string{y})
		g.Output(y, "y", onnx.Batch, 2)
		return &onnx.Model{Graph: g}
	}
	if err := Float16(build("Relu", 1)); err == nil || !strings.Contains(err.Error(), "Relu") {
		t.Errorf("Relu: err = %v", err)
	}
	if err := Float16(build("Identity", 1e5)); err == nil || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("weight 1e5: err = %v", err)
	}
	if err := Float16(build("Identity", 1), "Gemm"); err == nil {
		t.Error("keeping Gemm in float32: no error")
	}
	m := build("Identity", 3)
	if err := Float16(m); err != nil {
		t.Fatal(err)
	}
	gp, _ := m.Graph.Proto()
	var ops []string
	for _, n := range gp.Node {
		ops = append(ops, n.GetOpType()+"("+strings.Join(n.Input, ",")+")->"+strings.Join(n.Output, ","))
	}
	if got := strings.Join(ops, " "); !strings.HasPrefix(got, "Cast(x)->x.fp16 Mul(x.fp16,w)") || !strings.HasSuffix(got, "Cast(y.fp16)->y") {
		t.Errorf("nodes %s", got)
	}
}
