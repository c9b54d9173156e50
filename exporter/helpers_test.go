package exporter

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/runtime"
)

// openEnv opens an ONNX Runtime environment; without the library the test
// fails (skips with TGAN_TEST_NO_ORT=1: testkit.RequireORT).
func openEnv(tb testing.TB, threads int) *runtime.Env {
	tb.Helper()
	testkit.RequireORT(tb, runtime.FindLibrary)
	env, err := runtime.Open(runtime.Options{IntraOpThreads: threads})
	if err != nil {
		tb.Fatalf("runtime.Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := env.Close(); err != nil {
			tb.Errorf("Env.Close: %v", err)
		}
	})
	return env
}

// writeModel writes m to path the way Export writes its files.
func writeModel(tb testing.TB, m *onnx.Model, path string) {
	tb.Helper()
	b, err := m.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	if err := atomicfile.WriteBytes(path, b); err != nil {
		tb.Fatal(err)
	}
}

// runFile writes m into dir as name, opens it in env and runs it on input.
func runFile(tb testing.TB, env *runtime.Env, m *onnx.Model, name string, input []float32, shape []int64) ([]float32, []int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	writeModel(tb, m, path)
	rm, err := env.OpenModel(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer rm.Close()
	out, outShape, err := rm.Run(input, shape)
	if err != nil {
		tb.Fatal(err)
	}
	return out, outShape
}

// randomNets returns fresh random G and D weights for cfg.
func randomNets(cfg *model.Config, seed int64) (g, d model.Weights) {
	rng := rand.New(rand.NewSource(seed))
	return model.InitWeights(cfg.GParams(), rng), model.InitWeights(cfg.DParams(), rng)
}

func randn(n int, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func allFinite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func equalShape(a []int64, b ...int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
