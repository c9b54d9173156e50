package testkit

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRelErr(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		got, want []float32
		rel, abs  float64
	}{
		{[]float32{1, 2}, []float32{1, 2}, 0, 0},
		{[]float32{0, 0}, []float32{0, 0}, 0, 0},
		{[]float32{1, 2.5}, []float32{1, 2}, 0.25, 0.5},
		{[]float32{0.5}, []float32{0}, 0.5 / 1e-30, 0.5},
		{[]float32{1, nan}, []float32{1, 2}, math.Inf(1), math.Inf(1)},
		{[]float32{1}, []float32{1, 2}, math.Inf(1), math.Inf(1)},
	} {
		if r := RelErr(c.got, c.want); math.Abs(r-c.rel) > 1e-9*c.rel && r != c.rel {
			t.Errorf("RelErr(%v, %v) = %g, want %g", c.got, c.want, r, c.rel)
		}
		if a := MaxAbsDiff(c.got, c.want); a != c.abs {
			t.Errorf("MaxAbsDiff(%v, %v) = %g, want %g", c.got, c.want, a, c.abs)
		}
	}
	if e := ScalarRelErr(3, 2); e != 0.5 {
		t.Errorf("ScalarRelErr(3, 2) = %g", e)
	}
	if e := ScalarRelErr(math.NaN(), 2); !math.IsInf(e, 1) {
		t.Errorf("ScalarRelErr(NaN, 2) = %g, want +Inf", e)
	}
}

// recorder is a testing.TB that records Fatalf and Skipf instead of
// stopping the goroutine.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Fatalf(f string, a ...any) { r.fatal = f }
func (r *recorder) Skipf(f string, a ...any)  { r.skip = f }
func missing(string, bool) (string, error)    { return "", errors.New("not here") }
func present(string, bool) (string, error)    { return "/lib/libonnxruntime.so", nil }

func TestRequireORT(t *testing.T) {
	t.Setenv(NoORTEnv, "")
	r := &recorder{TB: t}
	if lib := RequireORT(r, present); lib != "/lib/libonnxruntime.so" || r.fatal != "" || r.skip != "" {
		t.Errorf("with a library: %q, fatal %q, skip %q", lib, r.fatal, r.skip)
	}
	r = &recorder{TB: t}
	RequireORT(r, missing)
	if r.fatal == "" || r.skip != "" || !strings.Contains(r.fatal, "%s=1") {
		t.Errorf("without a library: fatal %q, skip %q; want a failure naming the variable", r.fatal, r.skip)
	}
	t.Setenv(NoORTEnv, "1")
	r = &recorder{TB: t}
	RequireORT(r, missing)
	if r.skip == "" || r.fatal != "" {
		t.Errorf("without a library and %s=1: fatal %q, skip %q; want a skip", NoORTEnv, r.fatal, r.skip)
	}
}

func TestMicroConfigs(t *testing.T) {
	v1, final := MicroConfig(t), MicroFinalConfig(t)
	if v1.ImageSize != 8 || final.ImageSize != 8 || v1.MaskSchedule == nil || final.MaskSchedule != nil {
		t.Errorf("micro configs: %s / %s", v1.JSON(), final.JSON())
	}
}
