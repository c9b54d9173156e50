package engine

import (
	"testing"

	"github.com/tgan-dev/tgan/benchmarks/plainbench"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
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
//	go test -run '^$' -bench EngineVsPlainSession -benchtime 10x ./internal/infer/engine
//
// $TGAN_BENCH_PRESETS (default "tiny,s,final-cifar") and
// $TGAN_BENCH_BATCHES (default "1,32") choose the cases.
func BenchmarkEngineVsPlainSession(b *testing.B) {
	testkit.RequireORT(b, runtime.FindLibrary)
	plainbench.Cases(b, "tiny,s,final-cifar", "1,32", func(b *testing.B, _, path string, batch int) {
		benchEngineVsPlain(b, path, batch)
	})
}

// benchEngineVsPlain opens path with the engine first (it initialises the
// ONNX Runtime environment the plain session then uses) and times both.
func benchEngineVsPlain(b *testing.B, path string, batch int) {
	m, err := Open(path, Generator, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	plain := plainbench.Open(b, path, runtime.UsableCores(), plainbench.Options{})
	z := Latents(2, batch, m.InSize())
	shape := []int64{int64(batch), int64(m.InSize())}
	runPlain := func() { plain.Run(b, z, shape) }
	runTgan := func() {
		if _, err := m.Run(z, batch); err != nil {
			b.Fatal(err)
		}
	}
	plainbench.Interleave(b, batch, "plain", runPlain, "tgan", runTgan)
}
