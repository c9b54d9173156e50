package fused_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// configs are small architectures covering every attention form: v1 with
// head sizes 96/24/6 (s's last stage has head size 6) and 16/4/1, the final
// code with relative-position bias, and both discriminators (ViT, and the
// two-scale one with bias in blocks_2 and a cls-token last block).
func configs(t *testing.T) map[string]*model.Config {
	t.Helper()
	tiny, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	v1 := func(latent, gdim, bottom int, depths []int, ddim int) *model.Config {
		c := tiny.Clone()
		c.LatentDim, c.GDim, c.BottomWidth, c.GDepths = latent, gdim, bottom, depths
		c.ImageSize = bottom << (len(depths) - 1)
		c.DDim, c.DDepth, c.DPatch = ddim, 2, 2
		return c
	}
	final, err := model.Preset("final-cifar")
	if err != nil {
		t.Fatal(err)
	}
	final.LatentDim, final.GDim, final.BottomWidth, final.GDepths = 32, 64, 4, []int{2, 1, 1}
	final.ImageSize, final.DDim, final.DDepth = 16, 64, 2
	return map[string]*model.Config{
		"v1_head6": v1(32, 384, 2, []int{1, 1, 1}, 32),
		"v1_small": v1(32, 64, 4, []int{2, 1, 1}, 64),
		"final":    final,
	}
}

// randomWeights gives every float tensor random values of a scale that
// makes attention far from uniform: N(0, 1/fan_in) for matrices, N(0, 0.25)
// for biases, embeddings and relative-position tables, 1 + N(0, 0.04) for
// LayerNorm scales. Index buffers keep their computed values.
func randomWeights(params []model.Param, seed int64) model.Weights {
	rng := rand.New(rand.NewSource(seed))
	w := model.InitWeights(params, rng)
	for _, p := range params {
		t := w[p.Name]
		if t.F32 == nil {
			continue
		}
		std, mean := 0.5, 0.0
		switch {
		case len(p.Shape) >= 2 && !strings.Contains(p.Name, "pos_embed") && !strings.Contains(p.Name, "relative_position"):
			std = 1 / math.Sqrt(float64(t.Len()/p.Shape[0]))
		case strings.Contains(p.Name, "norm") && strings.HasSuffix(p.Name, ".weight"):
			std, mean = 0.2, 1
		case strings.HasSuffix(p.Name, "noise_strength_1"):
			std = 0 // the D noise is not part of the exported graph
		}
		for i := range t.F32 {
			t.F32[i] = float32(mean + std*rng.NormFloat64())
		}
	}
	return w
}

func openEnv(t *testing.T) *runtime.Env {
	t.Helper()
	testkit.RequireORT(t, runtime.FindLibrary)
	env, err := runtime.Open(runtime.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

// run writes data to a file, opens it and runs it on input.
func run(t *testing.T, env *runtime.Env, data []byte, input []float32, shape []int64) ([]float32, *runtime.Model) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := env.OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	out, _, err := m.Run(input, shape)
	if err != nil {
		t.Fatal(err)
	}
	return out, m
}

func randn(n int, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// network is one exported network of a config with its input size.
type network struct {
	name  string
	model *onnx.Model
	input []int64 // without the batch axis
}

func networks(t *testing.T, cfg *model.Config) []network {
	t.Helper()
	g, err := exporter.Generator(cfg, randomWeights(cfg.GParams(), 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := exporter.Discriminator(cfg, randomWeights(cfg.DParams(), 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	side := int64(cfg.ImageSize)
	return []network{
		{"G", g, []int64{int64(cfg.LatentDim)}},
		{"D", d, []int64{3, side, side}},
	}
}

// TestParityFusedStandard: every fused form (CPU; CUDA, which pads head
// sizes to a multiple of 8; each without SkipLayerNormalization too) gives
// the standard export's outputs within 1e-4 relative, on ONNX Runtime's
// CPU provider, for G and D of each config at batch 1 and 7.
func TestParityFusedStandard(t *testing.T) {
	t.Setenv(runtime.FuseEnv, "off") // the standard file runs as it is
	env := openEnv(t)
	forms := []fused.Options{
		{Target: fused.CPU}, {Target: fused.CUDA},
		{Target: fused.CPU, SkipLayerNorm: fused.On, PadHeads: fused.On},
		{Target: fused.CUDA, SkipLayerNorm: fused.Off, PadHeads: fused.Off},
	}
	for name, cfg := range configs(t) {
		for _, net := range networks(t, cfg) {
			std, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			for _, batch := range []int64{1, 7} {
				shape := append([]int64{batch}, net.input...)
				n := int(batch)
				for _, d := range net.input {
					n *= int(d)
				}
				in := randn(n, batch)
				want, _ := run(t, env, std, in, shape)
				for _, opts := range forms {
					label := fmt.Sprintf("%s/%s/batch=%d/%+v", name, net.name, batch, opts)
					data, rep, err := fused.Bytes(std, opts)
					if err != nil {
						t.Fatalf("%s: %v", label, err)
					}
					got, m := run(t, env, data, in, shape)
					if e := testkit.RelErr(got, want); e > 1e-4 {
						t.Errorf("%s: rel err %.3g > 1e-4 (%v)", label, e, rep)
					}
					if v, _ := m.MetadataValue(fused.KeyFused); v != string(opts.Target) {
						t.Errorf("%s: metadata %s = %q", label, fused.KeyFused, v)
					}
					if batch == 1 {
						t.Logf("%s: %v", label, rep)
					}
				}
			}
		}
	}
}

// TestReport: the counts of a rewrite follow the architecture: one
// MultiHeadAttention per block; on CUDA the blocks whose head size is not
// a multiple of 8 are padded; two SkipLayerNormalization per block but the
// first of each stack of blocks.
func TestReport(t *testing.T) {
	cfg := configs(t)["v1_head6"] // head sizes 96, 24, 6: the last stage is padded
	g := networks(t, cfg)[0]
	std, err := g.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := fused.Bytes(std, fused.Options{Target: fused.CUDA})
	if err != nil {
		t.Fatal(err)
	}
	want := fused.Report{Target: fused.CUDA, Attention: 3, Padded: 1, SkipLayerNorm: 3}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	_, rep, err = fused.Bytes(std, fused.Options{Target: fused.CPU})
	if want := (fused.Report{Target: fused.CPU, Attention: 3}); rep != want || err != nil {
		t.Errorf("cpu: %+v, %v; want %+v", rep, err, want)
	}
}

// TestRuntimeFusesTganFiles: tgan's runtime opens a standard tgan file in
// its fused form (metadata tgan.fused says which), and with FuseEnv off as
// it is, with the same outputs.
func TestRuntimeFusesTganFiles(t *testing.T) {
	env := openEnv(t)
	cfg := configs(t)["final"]
	g := networks(t, cfg)[0]
	std, err := g.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	in := randn(3*cfg.LatentDim, 5)
	shape := []int64{3, int64(cfg.LatentDim)}
	got, m := run(t, env, std, in, shape)
	if v, ok := m.MetadataValue(runtime.KeyFused); v != "cpu" {
		t.Errorf("default session: %s = %q (present %v), want cpu", runtime.KeyFused, v, ok)
	}
	t.Setenv(runtime.FuseEnv, "off")
	want, m := run(t, env, std, in, shape)
	if _, ok := m.MetadataValue(runtime.KeyFused); ok {
		t.Errorf("%s=off: session runs a fused form", runtime.FuseEnv)
	}
	if e := testkit.RelErr(got, want); e > 1e-4 {
		t.Errorf("fused vs standard: rel err %.3g", e)
	}
}

// TestRefusals: a file without tgan metadata, an already fused file, a
// graph that does not match its config and an unknown target are refused
// with a clear error, leaving the model unchanged.
func TestRefusals(t *testing.T) {
	cfg := configs(t)["v1_small"]
	g := networks(t, cfg)[0]
	std, err := g.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bare := *g.model
	bare.Metadata = nil
	noMeta, err := bare.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fused.Bytes(noMeta, fused.Options{}); !errors.Is(err, fused.ErrNotTgan) {
		t.Errorf("no metadata: %v, want ErrNotTgan", err)
	}
	once, _, err := fused.Bytes(std, fused.Options{Target: fused.CUDA})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fused.Bytes(once, fused.Options{}); !errors.Is(err, fused.ErrFused) || !strings.Contains(err.Error(), "cuda") {
		t.Errorf("fused twice: %v, want ErrFused (for cuda)", err)
	}
	other := cfg.Clone()
	other.GDepths = []int{3, 1, 1}
	wrong := *g.model
	wrong.Metadata = exporter.Metadata(other, exporter.GeneratorNetwork)
	mismatch, err := wrong.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fused.Bytes(mismatch, fused.Options{}); err == nil || !strings.Contains(err.Error(), "4 attention subgraphs") {
		t.Errorf("config mismatch: %v", err)
	}
	if _, err := fused.ParseTarget("tpu"); err == nil || !strings.Contains(err.Error(), `"tpu"`) {
		t.Errorf("ParseTarget(tpu): %v", err)
	}
}

// TestMetadataKeys: this package's copies of the exporter's keys agree.
func TestMetadataKeys(t *testing.T) {
	cfg := configs(t)["v1_small"]
	md := exporter.Metadata(cfg, exporter.GeneratorNetwork)
	if md[exporter.KeyNetwork] != "generator" || md[exporter.KeyConfig] == "" ||
		exporter.KeyNetwork != "tgan.network" || exporter.KeyConfig != "tgan.config" {
		t.Errorf("exporter metadata keys changed: %v", md)
	}
}

// TestParityFloat16Forms: the fused forms of a float16 export run on the CPU
// provider (CPU: MultiHeadAttention in float32 between Casts; CUDA: in
// float16, which ONNX Runtime's CPU provider runs too) and agree with the
// standard float16 file within float16 rounding.
func TestParityFloat16Forms(t *testing.T) {
	t.Setenv(runtime.FuseEnv, "off")
	env := openEnv(t)
	cfg := configs(t)["final"]
	g := networks(t, cfg)[0]
	if err := exporter.Float16(g.model); err != nil {
		t.Fatal(err)
	}
	std, err := g.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	in := randn(2*cfg.LatentDim, 9)
	shape := []int64{2, int64(cfg.LatentDim)}
	want, _ := run(t, env, std, in, shape)
	for _, target := range []fused.Target{fused.CPU, fused.CUDA} {
		data, _, err := fused.Bytes(std, fused.Options{Target: target})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := run(t, env, data, in, shape)
		if e := testkit.RelErr(got, want); e > 1e-2 {
			t.Errorf("fp16 %s form: rel err %.3g > 1e-2", target, e)
		}
	}
}

// FullEnv names the environment variable that makes TestParityFullPresets run
// (it needs minutes and several GB of memory).
const FullEnv = "TGAN_FUSED_FULL"

// TestParityFullPresets is TestParityFusedStandard on the full-size generators
// s, xl and final-cifar with random weights (TGAN_FUSED_FULL=1):
//
//	TGAN_FUSED_FULL=1 go test -run ParityFullPresets -v -timeout 30m ./onnx/fused/
func TestParityFullPresets(t *testing.T) {
	if os.Getenv(FullEnv) == "" {
		t.Skipf("%s not set", FullEnv)
	}
	t.Setenv(runtime.FuseEnv, "off")
	env := openEnv(t)
	for _, preset := range []string{"s", "xl", "final-cifar"} {
		cfg, err := model.Preset(preset)
		if err != nil {
			t.Fatal(err)
		}
		for _, net := range networks(t, cfg) {
			checkFull(t, env, preset+"/"+net.name, net)
		}
	}
}

func checkFull(t *testing.T, env *runtime.Env, label string, net network) {
	std, err := net.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int64{1, 7} {
		shape := append([]int64{batch}, net.input...)
		n := 1
		for _, d := range shape {
			n *= int(d)
		}
		in := randn(n, batch)
		want, m := run(t, env, std, in, shape)
		m.Close()
		for _, target := range []fused.Target{fused.CPU, fused.CUDA} {
			data, rep, err := fused.Bytes(std, fused.Options{Target: target})
			if err != nil {
				t.Fatal(err)
			}
			got, m := run(t, env, data, in, shape)
			m.Close()
			e := testkit.RelErr(got, want)
			t.Logf("%s batch %d %v: rel err %.2g", label, batch, rep, e)
			if e > 1e-4 {
				t.Errorf("%s batch %d %s: rel err %.3g > 1e-4", label, batch, target, e)
			}
		}
	}
}

// TestInt8Weights: the int8 CPU form quantizes every weight Gemm of the
// CPU form (and nothing else), says so in its metadata, and stays close to
// the standard file: a tolerance that a wrong scale, a transposed weight
// or a dropped bias would break by far (they give errors of order 1).
func TestInt8Weights(t *testing.T) {
	t.Setenv(runtime.FuseEnv, "off")
	env := openEnv(t)
	for name, cfg := range configs(t) {
		for _, net := range networks(t, cfg) {
			std, err := net.model.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			label := name + "/" + net.name
			plain, _, err := fused.Bytes(std, fused.Options{Target: fused.CPU})
			if err != nil {
				t.Fatal(err)
			}
			data, rep, err := fused.Bytes(std, fused.Options{Target: fused.CPU, Int8Weights: true})
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			if gemms := countOps(t, plain, "Gemm"); rep.Int8 != gemms || gemms == 0 || countOps(t, data, "Gemm") != 0 ||
				countOps(t, data, "DynamicQuantizeMatMul") != gemms {
				t.Errorf("%s: %v; the CPU form has %d Gemms", label, rep, gemms)
			}
			n := 3
			for _, d := range net.input {
				n *= int(d)
			}
			in := randn(n, 5)
			shape := append([]int64{3}, net.input...)
			want, _ := run(t, env, std, in, shape)
			got, m := run(t, env, data, in, shape)
			e := testkit.RelErr(got, want)
			if e > 0.05 {
				t.Errorf("%s: int8 weights rel err %.3g > 0.05", label, e)
			}
			if v, _ := m.MetadataValue(fused.KeyInt8); v == "" {
				t.Errorf("%s: no %s metadata", label, fused.KeyInt8)
			}
			t.Logf("%s: %v, rel err %.3g", label, rep, e)
		}
	}
}

// TestInt8Refusals: int8 weights are a float32 CPU form.
func TestInt8Refusals(t *testing.T) {
	cfg := configs(t)["v1_small"]
	g := networks(t, cfg)[0]
	std, err := g.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fused.Bytes(std, fused.Options{Target: fused.CUDA, Int8Weights: true}); err == nil || !strings.Contains(err.Error(), "CPU form") {
		t.Errorf("cuda + int8: %v", err)
	}
	if err := exporter.Float16(g.model); err != nil {
		t.Fatal(err)
	}
	half, err := g.model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fused.Bytes(half, fused.Options{Int8Weights: true}); err == nil || !strings.Contains(err.Error(), "float32") {
		t.Errorf("fp16 + int8: %v", err)
	}
}

// countOps counts the nodes of type op in an encoded model.
func countOps(t *testing.T, data []byte, op string) int {
	t.Helper()
	mp := &onnx.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, node := range mp.GetGraph().GetNode() {
		if node.GetOpType() == op {
			n++
		}
	}
	return n
}
