// Package testkit holds what the tests of several packages share: the
// relative-error measures of the parity tests, the ONNX Runtime gate and
// the micro model config. It imports only model (not runtime), so that the
// tests of every package, runtime and onnx/fused included, can use it.
//
// Parity tests, the ones that compare with the reference PyTorch/Python
// goldens or one executor with another, are named TestParity...:
// `go test ./... -run Parity` selects them all.
package testkit

import (
	"math"
	"os"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// RelErr is max|got-want| / max|want| over the elements: 0 when got equals
// want (an all-zero want included), +Inf when the lengths differ or a
// difference is NaN.
func RelErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var num, den float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		num = math.Max(num, d)
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	if num == 0 {
		return 0
	}
	return num / math.Max(den, 1e-30)
}

// MaxAbsDiff is max|got-want| over the elements: +Inf when the lengths
// differ or a difference is NaN.
func MaxAbsDiff(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

// ScalarRelErr is |got-want| / |want| (|want| floored at 1e-300): 0 when
// they are equal, +Inf when either is NaN.
func ScalarRelErr(got, want float64) float64 {
	d := math.Abs(got - want)
	switch {
	case math.IsNaN(d):
		return math.Inf(1)
	case d == 0:
		return 0
	}
	return d / math.Max(math.Abs(want), 1e-300)
}

// NoORTEnv, set to 1, lets the ONNX Runtime tests skip on a machine
// without the library; unset, RequireORT fails them.
const NoORTEnv = "TGAN_TEST_NO_ORT"

// RequireORT returns the ONNX Runtime library that find (runtime.FindLibrary;
// a parameter so that runtime's own tests can use it) locates for the CPU
// provider. Without one the test fails, naming the cause and the fix,
// unless TGAN_TEST_NO_ORT=1, which makes it skip: a green `go test` then
// includes the executor and export parity tests, or says it did not.
func RequireORT(tb testing.TB, find func(path string, cuda bool) (string, error)) string {
	tb.Helper()
	lib, err := find("", false)
	if err == nil {
		return lib
	}
	if os.Getenv(NoORTEnv) == "1" {
		tb.Skipf("no ONNX Runtime library (%v): skipped because %s=1", err, NoORTEnv)
		return ""
	}
	tb.Fatalf("no ONNX Runtime library: %v\n(scripts/setup.sh installs it into .ort/lib; set %s=1 to skip the tests that need it)", err, NoORTEnv)
	return ""
}

// MicroConfig is a v1 pair small enough for any test: 8x8 images, latent
// 8, G width 64 from a 2x2 bottom with one block per stage, D width 16 of
// depth 1 on 2x2 patches, and a locality mask (window 4) in the first
// epoch. It has every op kind of the paper-size v1 models: a mask, pixel
// shuffle, several stages.
func MicroConfig(tb testing.TB) *model.Config {
	tb.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.LatentDim, cfg.GDim, cfg.BottomWidth, cfg.GDepths = 8, 64, 2, []int{1, 1, 1}
	cfg.ImageSize = 8
	cfg.DDim, cfg.DDepth, cfg.DPatch = 16, 1, 2
	cfg.MaskSchedule = []model.MaskStep{{UntilEpoch: 1, Window: 4}}
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// MicroFinalConfig is MicroConfig in the final code's layout: relative
// position bias, the two-scale D with attention noise, no mask.
func MicroFinalConfig(tb testing.TB) *model.Config {
	tb.Helper()
	cfg := MicroConfig(tb)
	cfg.Version, cfg.GRelPos, cfg.MaskSchedule = model.Final, true, nil
	cfg.DKind, cfg.DRelPos = model.DScale2, true
	if err := cfg.Validate(); err != nil {
		tb.Fatal(err)
	}
	return cfg
}
