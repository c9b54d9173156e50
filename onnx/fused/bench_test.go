package fused_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// BenchEnv names the folder that BenchmarkVsTorchExport reads:
// DIR/<preset>/generator.onnx (written by tgan export) and DIR/<preset>/G.onnx
// (torch.onnx.export of the same weights), as benchmarks/fused_vs_torch.sh
// makes them.
const BenchEnv = "TGAN_FUSED_BENCH"

// benchForm is one way of running a generator.
type benchForm struct {
	name   string
	model  *runtime.Model
	opened time.Duration   // session creation, rewrite included
	runs   []time.Duration // wall time, one per round
	cpu    []time.Duration // CPU time of the process (all threads), one per round
}

// cpuTime is the user+system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median returns the median of xs (xs is reordered).
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// FormsEnv selects the forms BenchmarkVsTorchExport runs, comma-separated;
// default "torch,tgan,standard" (torch and tgan are always run).
const FormsEnv = "TGAN_FUSED_BENCH_FORMS"

// BenchmarkVsTorchExport times generator forms on ONNX Runtime's CPU
// provider with 2 intra-op threads, interleaved run by run (each b.N
// iteration runs every form once, so machine noise hits all alike):
//
//   - torch: the torch.onnx.export file, as it is;
//   - tgan: tgan's standard file opened by tgan's runtime (fused at session
//     creation, with the CPU defaults);
//   - standard: the same file with the rewrite off (TGAN_ORT_FUSE=off);
//   - skipln: the CPU form plus SkipLayerNormalization (off by default on CPU);
//   - pad8: the CPU form with head sizes padded to a multiple of 8;
//   - no-flash: the fused form with ORT_DISABLE_FLASH_ATTENTION=1 (ONNX
//     Runtime's unfused CPU attention kernel), which shows whether MLAS
//     flash attention is what runs;
//   - int8: the CPU form with int8 weights (`tgan export --int8`), which is
//     not exact: its ratio is a different trade, not the must-show one.
//
// It reports the median images/s of each form, the median over rounds of
// the torch/tgan time ratio (tgan/torch, the must-show ratio: tgan's
// throughput relative to the torch export's), and session creation times.
// FormsEnv adds forms beyond torch, tgan and standard.
//
//	TGAN_FUSED_BENCH=DIR go test -run '^$' -bench VsTorchExport -benchtime 9x ./onnx/fused/
func BenchmarkVsTorchExport(b *testing.B) {
	dir := os.Getenv(BenchEnv)
	if dir == "" {
		b.Skipf("%s not set (see benchmarks/fused_vs_torch.sh)", BenchEnv)
	}
	for _, c := range []struct {
		preset string
		batch  int
	}{{"s", 32}, {"xl", 8}, {"final-cifar", 8}} {
		benchVsTorch(b, c.preset, filepath.Join(dir, c.preset), c.batch)
	}
}

// benchVsTorch opens the forms once (the sub-benchmark's function runs
// twice: b.N = 1, then the -benchtime count) and closes them after.
func benchVsTorch(b *testing.B, preset, dir string, batch int) {
	tganFile, torchFile := filepath.Join(dir, "generator.onnx"), filepath.Join(dir, "G.onnx")
	if _, err := os.Stat(torchFile); err != nil {
		b.Logf("preset %s: %v", preset, err)
		return
	}
	env, err := runtime.Open(runtime.Options{IntraOpThreads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	forms := []*benchForm{open(b, env, "torch", torchFile, nil), open(b, env, "tgan", tganFile, nil)}
	want := os.Getenv(FormsEnv)
	if want == "" {
		want = "standard"
	}
	for _, name := range strings.Split(want, ",") {
		switch name {
		case "torch", "tgan":
		case "standard":
			forms = append(forms, open(b, env, name, tganFile, map[string]string{runtime.FuseEnv: "off"}))
		case "no-flash":
			forms = append(forms, open(b, env, name, tganFile, map[string]string{"ORT_DISABLE_FLASH_ATTENTION": "1"}))
		case "int8":
			path := filepath.Join(b.TempDir(), name+".onnx")
			writeFused(b, tganFile, path, fused.Options{Target: fused.CPU, Int8Weights: true})
			forms = append(forms, open(b, env, name, path, nil))
		case "skipln", "pad8", "skipln-pad8":
			opts := fused.Options{Target: fused.CPU, SkipLayerNorm: fused.Off, PadHeads: fused.Off}
			if strings.HasPrefix(name, "skipln") {
				opts.SkipLayerNorm = fused.On
			}
			if strings.HasSuffix(name, "pad8") {
				opts.PadHeads = fused.On
			}
			path := filepath.Join(b.TempDir(), name+".onnx")
			writeFused(b, tganFile, path, opts)
			forms = append(forms, open(b, env, name, path, nil))
		default:
			b.Fatalf("%s: unknown form %q (standard, no-flash, skipln, pad8, skipln-pad8, int8)", FormsEnv, name)
		}
	}
	latent := forms[1].model.Inputs()[0].Shape[1]
	z := randn(batch*int(latent), 1)
	shape := []int64{int64(batch), latent}
	var ref []float32
	defer func() {
		for _, f := range forms {
			f.model.Close()
		}
	}()
	for _, f := range forms { // warm-up (first-run allocations), and the same weights
		out, _, err := f.model.Run(z, shape)
		if err != nil {
			b.Fatalf("%s: %v", f.name, err)
		}
		if ref == nil {
			ref = out
		} else if e := testkit.RelErr(out, ref); (e > 1e-3 && f.name != "int8") || e > 0.1 {
			b.Fatalf("%s differs from the torch export: rel err %.3g (not the same weights?)", f.name, e)
		}
	}
	b.Run("preset="+preset, func(b *testing.B) { timeForms(b, forms, z, shape) })
}

// timeForms runs every form once per round, rotating who goes first.
func timeForms(b *testing.B, forms []*benchForm, z []float32, shape []int64) {
	batch := int(shape[0])
	for _, f := range forms {
		f.runs, f.cpu = f.runs[:0], f.cpu[:0]
	}
	for i := 0; i < b.N; i++ {
		for j := range forms {
			f := forms[(i+j)%len(forms)] // rotate who goes first
			start, cpu := time.Now(), cpuTime()
			if _, _, err := f.model.Run(z, shape); err != nil {
				b.Fatalf("%s: %v", f.name, err)
			}
			f.runs = append(f.runs, time.Since(start))
			f.cpu = append(f.cpu, cpuTime()-cpu)
		}
	}
	// Medians resist the bursts of other jobs on a shared machine; the
	// ratio pairs each round's runs, which ran at nearly the same time.
	// CPU time (ONNX Runtime's threads spin while they wait, which counts)
	// is less disturbed by other processes than wall time.
	ratios, cpuRatios := make([]float64, b.N), make([]float64, b.N)
	for i := range ratios {
		ratios[i] = forms[0].runs[i].Seconds() / forms[1].runs[i].Seconds()
		cpuRatios[i] = forms[0].cpu[i].Seconds() / forms[1].cpu[i].Seconds()
	}
	for _, f := range forms {
		wall, cpu := make([]float64, len(f.runs)), make([]float64, len(f.cpu))
		for i := range f.runs {
			wall[i], cpu[i] = f.runs[i].Seconds(), f.cpu[i].Seconds()
		}
		b.ReportMetric(float64(batch)/median(wall), f.name+"-img/s")
		b.ReportMetric(float64(batch)/median(cpu), f.name+"-img/cpu-s")
		if testing.Verbose() {
			b.Logf("%-10s wall %v", f.name, f.runs)
		}
	}
	b.ReportMetric(median(ratios), "tgan/torch")
	b.ReportMetric(median(cpuRatios), "tgan/torch-cpu")
	for _, f := range forms[:min(3, len(forms))] {
		b.ReportMetric(f.opened.Seconds(), f.name+"-open-s")
	}
}

// open opens path as the form name, with the environment variables env
// set while the session is created (they are read then).
func open(b *testing.B, e *runtime.Env, name, path string, env map[string]string) *benchForm {
	b.Helper()
	for k, v := range env {
		b.Setenv(k, v)
	}
	start := time.Now()
	m, err := e.OpenModel(path)
	opened := time.Since(start)
	for k := range env {
		os.Unsetenv(k)
	}
	if err != nil {
		b.Fatal(err)
	}
	return &benchForm{name: name, model: m, opened: opened}
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
