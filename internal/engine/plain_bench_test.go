package engine

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
	ort "github.com/yalue/onnxruntime_go"
)

// BenchmarkEngineVsPlainSession is runtime's BenchmarkVsPlainSession one
// level up, on the path `tgan infer`, `bench`, `serve` and `eval` take
// (engine.Open with default options, Model.Run), in a test binary that also
// links Gorgonia and OpenBLAS as tgan does. Each round runs a plain
// onnxruntime_go session (intra-op threads = usable cores, inter-op 1, all
// optimisations, input wrapped, fresh output) and the engine on the same
// exported file (random weights, seed 1), alternating which goes first;
// it reports both times, tgan/plain of the totals and the median ratio.
//
//	go test -run '^$' -bench EngineVsPlainSession -benchtime 10x ./internal/engine
//
// $TGAN_BENCH_PRESETS (default "tiny,s,final-cifar") and
// $TGAN_BENCH_BATCHES (default "1,32") choose the cases.
func BenchmarkEngineVsPlainSession(b *testing.B) {
	if _, err := runtime.FindLibrary("", false); err != nil {
		b.Skipf("no ONNX Runtime library: %v", err)
	}
	dir := b.TempDir()
	for _, preset := range envList("TGAN_BENCH_PRESETS", "tiny,s,final-cifar") {
		path := exportRandom(b, preset, dir)
		for _, batch := range envList("TGAN_BENCH_BATCHES", "1,32") {
			b.Run(fmt.Sprintf("preset=%s/batch=%s", preset, batch), func(b *testing.B) {
				var n int
				fmt.Sscan(batch, &n)
				benchEngineVsPlain(b, path, n)
			})
		}
	}
}

func envList(name, def string) []string {
	if v := os.Getenv(name); v != "" {
		return strings.Split(v, ",")
	}
	return strings.Split(def, ",")
}

func exportRandom(b *testing.B, preset, dir string) string {
	cfg, err := model.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	w := model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(1)))
	g, err := exporter.Generator(cfg, w, exporter.Metadata(cfg, exporter.GeneratorNetwork))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, preset+".onnx")
	if err := g.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchEngineVsPlain(b *testing.B, path string, batch int) {
	m, err := Open(path, Generator, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	plain := newPlain(b, path)
	z := Latents(2, batch, m.InSize())
	shape := ort.NewShape(int64(batch), int64(m.InSize()))
	runPlain := func() {
		in, err := ort.NewTensor(shape, z)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Destroy()
		outs := []ort.Value{nil}
		if err := plain.Run([]ort.Value{in}, outs); err != nil {
			b.Fatal(err)
		}
		outs[0].Destroy()
	}
	runTgan := func() {
		if _, err := m.Run(z, batch); err != nil {
			b.Fatal(err)
		}
	}
	runPlain() // warm-up
	runTgan()
	var tPlain, tTgan time.Duration
	ratios := make([]float64, 0, b.N)
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var dp, dt time.Duration
		if i%2 == 0 {
			dp, dt = timed(runPlain), timed(runTgan)
		} else {
			dt, dp = timed(runTgan), timed(runPlain)
		}
		tPlain, tTgan = tPlain+dp, tTgan+dt
		ratios = append(ratios, dt.Seconds()/dp.Seconds())
	}
	slices.Sort(ratios)
	n := float64(b.N)
	b.ReportMetric(tPlain.Seconds()*1e3/n, "plain-ms")
	b.ReportMetric(tTgan.Seconds()*1e3/n, "tgan-ms")
	b.ReportMetric(float64(batch)*n/tTgan.Seconds(), "tgan-img/s")
	b.ReportMetric(tTgan.Seconds()/tPlain.Seconds(), "tgan/plain")
	b.ReportMetric(ratios[len(ratios)/2], "tgan/plain-median")
}

// newPlain opens path the way a user of onnxruntime_go would (the ONNX
// Runtime environment is already initialised by Open).
func newPlain(b *testing.B, path string) *ort.DynamicAdvancedSession {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		b.Fatal(err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer so.Destroy()
	for _, err := range []error{
		so.SetIntraOpNumThreads(runtime.UsableCores()),
		so.SetInterOpNumThreads(1),
		so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{ins[0].Name}, []string{outs[0].Name}, so)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Destroy() })
	return s
}
