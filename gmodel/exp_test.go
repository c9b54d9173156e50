//go:build noblas

package gmodel

import (
	"math"
	"testing"
)

func TestExpNeg(t *testing.T) {
	worst := 0.0
	for x := float32(-90); x <= 0; x += 0.00731 {
		want := math.Exp(float64(x))
		got := float64(expNeg(x))
		if want < 1e-37 {
			continue
		}
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 5e-7 {
		t.Errorf("max relative error %.3g", worst)
	}
	if expNeg(-100) != 0 || expNeg(0) != 1 {
		t.Error("edge values")
	}
}
