package fused_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/exporter/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// BenchEnv names the folder that BenchmarkVsTorchExport reads:
// DIR/<preset>/generator.onnx (written by tgan export) and DIR/<preset>/G.onnx
// (torch.onnx.export of the same weights), as benchmarks/fused_vs_torch.sh
// makes them.
const BenchEnv = "TGAN_FUSED_BENCH"

// benchForm is one way of running a generator.
type benchForm struct {
	name  string
	model *runtime.Model
	spent time.Duration
}

// BenchmarkVsTorchExport times generator forms on ONNX Runtime's CPU
// provider with 2 intra-op threads, interleaved run by run (each b.N
// iteration runs every form once, so machine noise hits all alike):
//
//   - torch: the torch.onnx.export file, as it is;
//   - tgan: tgan's standard file opened by tgan's runtime (fused at session
//     creation: MultiHeadAttention + SkipLayerNormalization);
//   - standard: the same file with the rewrite off (TGAN_ORT_FUSE=off);
//   - skipln: the CPU form plus SkipLayerNormalization (off by default on CPU);
//   - pad8: the CPU form with head sizes padded to a multiple of 8;
//   - no-flash: the fused form with ORT_DISABLE_FLASH_ATTENTION=1 (ONNX
//     Runtime's unfused CPU attention kernel), which shows whether MLAS
//     flash attention is what runs.
//
// It reports images/s per form and tgan/torch, the must-show ratio.
//
//	TGAN_FUSED_BENCH=DIR go test -run '^$' -bench VsTorchExport -benchtime 5x ./exporter/fused/
func BenchmarkVsTorchExport(b *testing.B) {
	dir := os.Getenv(BenchEnv)
	if dir == "" {
		b.Skipf("%s not set (see benchmarks/fused_vs_torch.sh)", BenchEnv)
	}
	for _, c := range []struct {
		preset string
		batch  int
	}{{"s", 32}, {"xl", 8}, {"final-cifar", 8}} {
		b.Run("preset="+c.preset, func(b *testing.B) {
			benchVsTorch(b, filepath.Join(dir, c.preset), c.batch)
		})
	}
}

func benchVsTorch(b *testing.B, dir string, batch int) {
	tganFile, torchFile := filepath.Join(dir, "generator.onnx"), filepath.Join(dir, "G.onnx")
	if _, err := os.Stat(torchFile); err != nil {
		b.Skip(err)
	}
	env, err := runtime.Open(runtime.Options{IntraOpThreads: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { env.Close() }) // after the models' cleanups
	skip := filepath.Join(b.TempDir(), "skipln.onnx")
	writeFused(b, tganFile, skip, fused.Options{Target: fused.CPU, SkipLayerNorm: fused.On})
	pad := filepath.Join(b.TempDir(), "pad8.onnx")
	writeFused(b, tganFile, pad, fused.Options{Target: fused.CPU, PadHeads: fused.On})
	forms := []*benchForm{
		{name: "torch", model: open(b, env, torchFile, nil)},
		{name: "tgan", model: open(b, env, tganFile, nil)},
		{name: "standard", model: open(b, env, tganFile, map[string]string{runtime.FuseEnv: "off"})},
		{name: "skipln", model: open(b, env, skip, nil)},
		{name: "pad8", model: open(b, env, pad, nil)},
		{name: "no-flash", model: open(b, env, tganFile, map[string]string{"ORT_DISABLE_FLASH_ATTENTION": "1"})},
	}
	latent := forms[1].model.Inputs()[0].Shape[1]
	z := randn(batch*int(latent), 1)
	shape := []int64{int64(batch), latent}
	var ref []float32
	for _, f := range forms { // warm-up (first-run allocations), and the same weights
		out, _, err := f.model.Run(z, shape)
		if err != nil {
			b.Fatalf("%s: %v", f.name, err)
		}
		if ref == nil {
			ref = out
		} else if e := relErr(out, ref); e > 1e-3 {
			b.Fatalf("%s differs from the torch export: rel err %.3g (not the same weights?)", f.name, e)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range forms {
			f := forms[(i+j)%len(forms)] // rotate who goes first
			start := time.Now()
			if _, _, err := f.model.Run(z, shape); err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
			f.spent += time.Since(start)
		}
	}
	for _, f := range forms {
		b.ReportMetric(float64(b.N*batch)/f.spent.Seconds(), f.name+"-img/s")
	}
	b.ReportMetric(forms[0].spent.Seconds()/forms[1].spent.Seconds(), "tgan/torch")
}

// open opens path with the environment variables env set while the
// session is created (they are read then).
func open(b *testing.B, e *runtime.Env, path string, env map[string]string) *runtime.Model {
	b.Helper()
	for k, v := range env {
		b.Setenv(k, v)
	}
	m, err := e.OpenModel(path)
	for k := range env {
		os.Unsetenv(k)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

func writeFused(b *testing.B, from, to string, opts fused.Options) {
	b.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	out, _, err := fused.Bytes(data, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, out, 0o644); err != nil {
		b.Fatal(err)
	}
}
