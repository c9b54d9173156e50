// Package plainbench is the reference side of tgan's inference benchmarks:
// an exported generator, a plain onnxruntime_go session on it (what a user
// of that library writes), and the interleaved timing that compares it
// with tgan's own path. The runtime and engine benchmarks share it; only
// test code imports it (it takes *testing.B).
//
// It cannot import tgan's runtime package, whose in-package benchmarks use
// it: callers pass the usable core count (runtime.UsableCores) and
// initialise ONNX Runtime before opening a session.
package plainbench

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/model"
	ort "github.com/yalue/onnxruntime_go"
)

// EnvList is the comma-separated list in $name, or def when it is unset:
// the benchmarks' $TGAN_BENCH_PRESETS and $TGAN_BENCH_BATCHES.
func EnvList(name, def string) []string {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

// Cases runs f as the sub-benchmark "preset=P/batch=N" for each preset P
// of $TGAN_BENCH_PRESETS (default presets) and batch size N of
// $TGAN_BENCH_BATCHES (default batches), on P's generator exported once
// into a temporary folder.
func Cases(b *testing.B, presets, batches string, f func(b *testing.B, preset, path string, batch int)) {
	dir := b.TempDir()
	for _, preset := range EnvList("TGAN_BENCH_PRESETS", presets) {
		path := ExportGenerator(b, preset, dir)
		for _, batch := range EnvList("TGAN_BENCH_BATCHES", batches) {
			n, err := strconv.Atoi(batch)
			if err != nil || n < 1 {
				b.Fatalf("TGAN_BENCH_BATCHES: %q is not a batch size", batch)
			}
			b.Run(fmt.Sprintf("preset=%s/batch=%d", preset, n), func(b *testing.B) { f(b, preset, path, n) })
		}
	}
}

// ExportGenerator writes preset's generator with random weights (the
// official initialisation, seed 1) to dir/<preset>.onnx and returns the path.
func ExportGenerator(tb testing.TB, preset, dir string) string {
	tb.Helper()
	cfg, err := model.Preset(preset)
	if err != nil {
		tb.Fatal(err)
	}
	g, err := exporter.Generator(cfg, model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(1))),
		exporter.Metadata(cfg, exporter.GeneratorNetwork))
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, preset+".onnx")
	b, err := g.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if err := atomicfile.WriteBytes(path, b); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Options are the settings of a plain session; the zero value is the
// reference: intra-op threads = the usable cores, inter-op 1, all graph
// optimisations, a tensor wrapping the input slice, a fresh output each run.
type Options struct {
	Intra     int // 0: the usable cores; -1: ONNX Runtime's default
	Inter     int // 0: 1; -1: ONNX Runtime's default
	Opt       ort.GraphOptimizationLevel
	Config    map[string]string // session config entries
	KeepOut   bool              // bind one preallocated output tensor
	KeepInput bool              // copy into one preallocated input tensor
}

// Session is onnxruntime_go used directly on a one-input, one-output model.
type Session struct {
	sess    *ort.DynamicAdvancedSession
	opts    Options
	in, out *ort.Tensor[float32]
}

// Open opens path with o; cores is what Intra 0 means (runtime.UsableCores).
// The session is destroyed when tb's test or benchmark ends.
func Open(tb testing.TB, path string, cores int, o Options) *Session {
	tb.Helper()
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		tb.Fatal(err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		tb.Fatal(err)
	}
	defer so.Destroy()
	if o.Opt == 0 {
		o.Opt = ort.GraphOptimizationLevelEnableAll
	}
	errs := []error{so.SetGraphOptimizationLevel(o.Opt)}
	switch {
	case o.Intra == 0:
		errs = append(errs, so.SetIntraOpNumThreads(cores))
	case o.Intra > 0:
		errs = append(errs, so.SetIntraOpNumThreads(o.Intra))
	}
	switch {
	case o.Inter == 0:
		errs = append(errs, so.SetInterOpNumThreads(1))
	case o.Inter > 0:
		errs = append(errs, so.SetInterOpNumThreads(o.Inter))
	}
	for k, v := range o.Config {
		errs = append(errs, so.AddSessionConfigEntry(k, v))
	}
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{ins[0].Name}, []string{outs[0].Name}, so)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Destroy() })
	return &Session{sess: s, opts: o}
}

// Run feeds z (of the given shape), runs, reads the first output value and
// frees what the options do not keep.
func (p *Session) Run(tb testing.TB, z []float32, shape []int64) float32 {
	var in *ort.Tensor[float32]
	var err error
	if p.opts.KeepInput {
		if p.in == nil {
			p.in, err = ort.NewEmptyTensor[float32](ort.NewShape(shape...))
			tb.Cleanup(func() { p.in.Destroy() })
		}
		in = p.in
		copy(in.GetData(), z)
	} else {
		in, err = ort.NewTensor(ort.NewShape(shape...), z)
		defer in.Destroy()
	}
	if err != nil {
		tb.Fatal(err)
	}
	outs := []ort.Value{nil}
	if p.out != nil {
		outs[0] = p.out
	}
	if err := p.sess.Run([]ort.Value{in}, outs); err != nil {
		tb.Fatal(err)
	}
	out := outs[0].(*ort.Tensor[float32])
	if p.opts.KeepOut && p.out == nil {
		p.out = out
		tb.Cleanup(func() { p.out.Destroy() })
	} else if !p.opts.KeepOut {
		defer out.Destroy()
	}
	return out.GetData()[0]
}

// Interleave runs a warm-up of each, then b.N rounds of both, alternating
// which goes first so that load from other processes hits both alike, and
// reports each one's ms per run, b's images/s, the ratio of the totals
// (nameB/nameA) and the median of the per-round ratios (nameB/nameA-median,
// robust to bursts of load).
func Interleave(b *testing.B, batch int, nameA string, fa func(), nameB string, fb func()) {
	fa() // warm-up: first-run allocations of both sessions
	fb()
	var ta, tb time.Duration
	ratios := make([]float64, 0, b.N)
	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var da, db time.Duration
		if i%2 == 0 {
			da, db = timed(fa), timed(fb)
		} else {
			db, da = timed(fb), timed(fa)
		}
		ta, tb = ta+da, tb+db
		ratios = append(ratios, db.Seconds()/da.Seconds())
	}
	slices.Sort(ratios)
	n := float64(b.N)
	b.ReportMetric(ta.Seconds()*1e3/n, nameA+"-ms")
	b.ReportMetric(tb.Seconds()*1e3/n, nameB+"-ms")
	b.ReportMetric(float64(batch)*n/tb.Seconds(), nameB+"-img/s")
	b.ReportMetric(tb.Seconds()/ta.Seconds(), nameB+"/"+nameA)
	b.ReportMetric(ratios[len(ratios)/2], nameB+"/"+nameA+"-median")
}
