package exporter

import (
	"math"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/runtime"
)

// openEnv opens an ONNX Runtime environment or skips the test when the
// library is not installed (scripts/setup.sh installs it; CI always runs it).
func openEnv(tb testing.TB, threads int) *runtime.Env {
	tb.Helper()
	if _, err := runtime.FindLibrary("", false); err != nil {
		tb.Skipf("no ONNX Runtime library: %v", err)
	}
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

// runFile writes m into dir as name, opens it in env and runs it on input.
func runFile(tb testing.TB, env *runtime.Env, m *onnx.Model, name string, input []float32, shape []int64) ([]float32, []int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := m.WriteFile(path); err != nil {
		tb.Fatal(err)
	}
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

// relErr is max|got-want| / max|want|.
func relErr(tb testing.TB, got, want []float32) float64 {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d values, want %d", len(got), len(want))
	}
	var maxErr, maxRef float64
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		maxErr = math.Max(maxErr, d)
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
	}
	return maxErr / maxRef
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
