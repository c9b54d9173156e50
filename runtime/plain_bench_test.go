package runtime

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/benchmarks/plainbench"
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
	plainbench.Cases(b, "tiny,s,final-cifar", "1,32", func(b *testing.B, _, path string, batch int) {
		benchPair(b, env, path, batch)
	})
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
	plain := plainbench.Open(b, path, UsableCores(), plainbench.Options{})
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
	runPlain := func() { plain.Run(b, z, shape) }
	plainbench.Interleave(b, batch, "plain", runPlain, "tgan", runTgan)
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
		o    plainbench.Options
	}{
		{"same-as-reference", plainbench.Options{}}, // the noise floor
		{"ort-default-threads", plainbench.Options{Intra: -1, Inter: -1}},
		{"intra=1", plainbench.Options{Intra: 1}},
		{"inter-default", plainbench.Options{Inter: -1}},
		{"no-spin", plainbench.Options{Config: map[string]string{"session.intra_op.allow_spinning": "0"}}},
		{"denormal-as-zero", plainbench.Options{Config: map[string]string{"session.set_denormal_as_zero": "1"}}},
		{"opt-extended", plainbench.Options{Opt: ort.GraphOptimizationLevelEnableExtended}},
		{"opt-basic", plainbench.Options{Opt: ort.GraphOptimizationLevelEnableBasic}},
		{"keep-output", plainbench.Options{KeepOut: true}},
		{"keep-input-output", plainbench.Options{KeepOut: true, KeepInput: true}},
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
	plainbench.Cases(b, "s", "32", func(b *testing.B, preset, path string, batch int) {
		for _, v := range variants {
			b.Run(v.name, func(b *testing.B) {
				ref := plainbench.Open(b, path, UsableCores(), plainbench.Options{})
				alt := plainbench.Open(b, path, UsableCores(), v.o)
				z, shape := randomInput(batch, benchSampleSize(b, preset))
				plainbench.Interleave(b, batch, "plain", func() { ref.Run(b, z, shape) }, "variant", func() { alt.Run(b, z, shape) })
			})
		}
	})
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
