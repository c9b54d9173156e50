package runtime

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/model"
	ort "github.com/yalue/onnxruntime_go"
)

// BenchmarkVsPlainSession runs the same exported generator through a plain
// onnxruntime_go session (what a user of the library writes: intra-op
// threads = the usable cores, inter-op 1, all graph optimisations, a tensor
// wrapping the input slice, a fresh output each run) and through tgan's
// default path (Open(Options{}) + Model.Run), interleaved: every iteration
// runs both, alternating which goes first, so load from other processes
// hits both alike. It reports the time of each and tgan/plain.
//
//	go test -run '^$' -bench VsPlainSession -benchtime 20x ./runtime
//
// $TGAN_BENCH_PRESETS (comma-separated, default "tiny,s,final-cifar")
// and $TGAN_BENCH_BATCHES (default "1,32") choose the cases.
func BenchmarkVsPlainSession(b *testing.B) {
	env := openEnv(b, Options{})
	for _, preset := range benchList("TGAN_BENCH_PRESETS", "tiny,s,final-cifar") {
		path := benchGeneratorFile(b, preset)
		for _, batch := range benchList("TGAN_BENCH_BATCHES", "1,32") {
			b.Run(fmt.Sprintf("preset=%s/batch=%s", preset, batch), func(b *testing.B) {
				var n int
				fmt.Sscan(batch, &n)
				benchPair(b, env, path, n)
			})
		}
	}
}

func benchList(env, def string) []string {
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

// benchFiles caches one exported generator per preset for the whole run.
var benchFiles struct {
	sync.Mutex
	dir   string
	paths map[string]string
}

// benchGeneratorFile exports preset's generator with random weights (the
// official initialisation, seed 1) into a temporary folder, once per run.
func benchGeneratorFile(b *testing.B, preset string) string {
	b.Helper()
	benchFiles.Lock()
	defer benchFiles.Unlock()
	if p, ok := benchFiles.paths[preset]; ok {
		return p
	}
	if benchFiles.paths == nil {
		dir, err := os.MkdirTemp("", "tgan-runtime-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchFiles.dir, benchFiles.paths = dir, map[string]string{}
	}
	cfg, err := model.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	g, err := exporter.Generator(cfg, model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(1))),
		exporter.Metadata(cfg, exporter.GeneratorNetwork))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(benchFiles.dir, preset+".onnx")
	if err := g.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	benchFiles.paths[preset] = path
	return path
}

// plainOptions are the session settings of a plain onnxruntime_go session;
// the zero value is the reference (see BenchmarkVsPlainSession).
type plainOptions struct {
	intra     int // 0: UsableCores; -1: ONNX Runtime's default
	inter     int // 0: 1; -1: ONNX Runtime's default
	opt       ort.GraphOptimizationLevel
	config    map[string]string // session config entries
	keepOut   bool              // bind one preallocated output tensor
	keepInput bool              // copy into one preallocated input tensor
}

// plainSession is the reference: onnxruntime_go used directly.
type plainSession struct {
	sess    *ort.DynamicAdvancedSession
	opts    plainOptions
	in, out *ort.Tensor[float32]
}

func newPlainSession(tb testing.TB, path string, o plainOptions) *plainSession {
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
	if o.opt == 0 {
		o.opt = ort.GraphOptimizationLevelEnableAll
	}
	errs := []error{so.SetGraphOptimizationLevel(o.opt)}
	switch {
	case o.intra == 0:
		errs = append(errs, so.SetIntraOpNumThreads(UsableCores()))
	case o.intra > 0:
		errs = append(errs, so.SetIntraOpNumThreads(o.intra))
	}
	switch {
	case o.inter == 0:
		errs = append(errs, so.SetInterOpNumThreads(1))
	case o.inter > 0:
		errs = append(errs, so.SetInterOpNumThreads(o.inter))
	}
	for k, v := range o.config {
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
	return &plainSession{sess: s, opts: o}
}

// run wraps z in a tensor, runs, reads the output and frees it.
func (p *plainSession) run(tb testing.TB, z []float32, shape []int64) float32 {
	var in *ort.Tensor[float32]
	var err error
	if p.opts.keepInput {
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
	if p.opts.keepOut && p.out == nil {
		p.out = out
		tb.Cleanup(func() { p.out.Destroy() })
	} else if !p.opts.keepOut {
		defer out.Destroy()
	}
	return out.GetData()[0]
}

// randomInput is batch latents of size per from N(0, 1).
func randomInput(batch, per int) ([]float32, []int64) {
	z := make([]float32, batch*per)
	rng := rand.New(rand.NewSource(2))
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	return z, []int64{int64(batch), int64(per)}
}

// benchPair times plain and tgan on the same input, alternating the order.
func benchPair(b *testing.B, env *Env, path string, batch int) {
	plain := newPlainSession(b, path, plainOptions{})
	m, err := env.OpenModel(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	per, err := m.SampleSize()
	if err != nil {
		b.Fatal(err)
	}
	z, shape := randomInput(batch, per)
	runTgan := func() {
		if _, _, err := m.Run(z, shape); err != nil {
			b.Fatal(err)
		}
	}
	runPlain := func() { plain.run(b, z, shape) }
	interleave(b, batch, "plain", runPlain, "tgan", runTgan)
}

// interleave runs a warm-up of each, then b.N rounds of both, alternating
// which goes first, and reports each one's ms per run, b's images/s, the
// ratio of the totals (b/a) and the median of the per-round ratios
// (b/a-median, robust to bursts of load from other processes).
func interleave(b *testing.B, batch int, nameA string, fa func(), nameB string, fb func()) {
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

// BenchmarkSessionOptions measures each session setting on its own against
// the reference plain session, interleaved, on the same file:
//
//	go test -run '^$' -bench SessionOptions -benchtime 10x ./runtime
//
// $TGAN_BENCH_PRESETS / $TGAN_BENCH_BATCHES as for BenchmarkVsPlainSession
// (default "s" and "32").
func BenchmarkSessionOptions(b *testing.B) {
	openEnv(b, Options{})
	variants := []struct {
		name string
		o    plainOptions
	}{
		{"same-as-reference", plainOptions{}}, // the noise floor
		{"ort-default-threads", plainOptions{intra: -1, inter: -1}},
		{"intra=1", plainOptions{intra: 1}},
		{"inter-default", plainOptions{inter: -1}},
		{"no-spin", plainOptions{config: map[string]string{"session.intra_op.allow_spinning": "0"}}},
		{"denormal-as-zero", plainOptions{config: map[string]string{"session.set_denormal_as_zero": "1"}}},
		{"opt-extended", plainOptions{opt: ort.GraphOptimizationLevelEnableExtended}},
		{"opt-basic", plainOptions{opt: ort.GraphOptimizationLevelEnableBasic}},
		{"keep-output", plainOptions{keepOut: true}},
		{"keep-input-output", plainOptions{keepOut: true, keepInput: true}},
	}
	if v := os.Getenv("TGAN_BENCH_VARIANTS"); v != "" {
		keep := variants[:0]
		for _, x := range variants {
			if strings.Contains(","+v+",", ","+x.name+",") {
				keep = append(keep, x)
			}
		}
		variants = keep
	}
	for _, preset := range benchList("TGAN_BENCH_PRESETS", "s") {
		path := benchGeneratorFile(b, preset)
		for _, batch := range benchList("TGAN_BENCH_BATCHES", "32") {
			for _, v := range variants {
				b.Run(fmt.Sprintf("preset=%s/batch=%s/%s", preset, batch, v.name), func(b *testing.B) {
					var n int
					fmt.Sscan(batch, &n)
					ref := newPlainSession(b, path, plainOptions{})
					alt := newPlainSession(b, path, v.o)
					per := benchSampleSize(b, preset)
					z, shape := randomInput(n, per)
					interleave(b, n, "plain", func() { ref.run(b, z, shape) }, "variant", func() { alt.run(b, z, shape) })
				})
			}
		}
	}
}

func benchSampleSize(b *testing.B, preset string) int {
	cfg, err := model.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	return cfg.LatentDim
}

// BenchmarkRunOverhead measures what tgan's Run adds per call on a model
// whose compute is negligible (testdata/onnx/tiny_gen.onnx, a few
// microseconds): the difference of the two times is the per-run overhead
// to compare with a generator's run time.
//
//	go test -run '^$' -bench RunOverhead -benchtime 20000x ./runtime
func BenchmarkRunOverhead(b *testing.B) {
	env := openEnv(b, Options{})
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			benchPair(b, env, tinyPath("tiny_gen.onnx"), batch)
		})
	}
}
