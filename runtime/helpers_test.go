package runtime

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
)

// testdataDir holds the tiny models made by testdata/onnx/make_tiny.py.
var testdataDir = filepath.Join("..", "testdata", "onnx")

func tinyPath(name string) string { return filepath.Join(testdataDir, name) }

// openEnv opens an Env; without an ONNX Runtime library the test fails
// (skips with TGAN_TEST_NO_ORT=1: testkit.RequireORT).
func openEnv(tb testing.TB, opts Options) *Env {
	tb.Helper()
	testkit.RequireORT(tb, func(string, bool) (string, error) {
		return FindLibrary(opts.LibraryPath, opts.Provider == CUDA || opts.Provider == Auto)
	})
	env, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", opts, err)
	}
	tb.Cleanup(func() {
		if err := env.Close(); err != nil {
			tb.Errorf("Env.Close: %v", err)
		}
	})
	return env
}

func openModel(tb testing.TB, env *Env, name string) *Model {
	tb.Helper()
	m, err := env.OpenModel(tinyPath(name))
	if err != nil {
		tb.Fatalf("OpenModel: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// expected is tiny_gen.expected.json: a fixed z and torch's output for it.
type expected struct {
	InputShape  []int64   `json:"input_shape"`
	Input       []float32 `json:"input"`
	OutputShape []int64   `json:"output_shape"`
	Output      []float32 `json:"output"`
}

func loadExpected(tb testing.TB) expected {
	tb.Helper()
	b, err := os.ReadFile(tinyPath("tiny_gen.expected.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatal(err)
	}
	return e
}

// rows returns items [i, j) of a batch-major slice with per values per item.
func rows(x []float32, per, i, j int) []float32 { return x[i*per : j*per] }

func assertClose(tb testing.TB, got, want []float32, tol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d values, want %d", len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > tol || math.IsNaN(worst) {
		tb.Fatalf("max |got-want| = %g at %d (got %g, want %g), tolerance %g", worst, at, got[at], want[at], tol)
	}
}

func equalShape(a, b []int64) bool {
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
