package model

import (
	"math"
	"testing"
)

// TestFilterBank checks Hz_fbank against SPEC-hires 5.5's check values:
// row 0 a low-pass with sum 1 and centre tap 0.125, rows 1-3 sum 0 with
// centre taps 0.125, 0.25, 0.5, row 3 = hi2 centred, all rows symmetric.
func TestFilterBank(t *testing.T) {
	fb := FilterBank()
	if len(fb) != FilterBankShape[0]*FilterBankShape[1] {
		t.Fatalf("%d values, want 4x43", len(fb))
	}
	const n, mid = 43, 21
	row := func(r int) []float32 { return fb[r*n : (r+1)*n] }
	wantSum := []float64{1, 0, 0, 0}
	wantMid := []float64{0.125, 0.125, 0.25, 0.5}
	for r := 0; r < 4; r++ {
		sum := 0.0
		for _, v := range row(r) {
			sum += float64(v)
		}
		if math.Abs(sum-wantSum[r]) > 1e-6 {
			t.Errorf("row %d sums to %g, want %g", r, sum, wantSum[r])
		}
		if got := float64(row(r)[mid]); math.Abs(got-wantMid[r]) > 1e-6 {
			t.Errorf("row %d centre tap %g, want %g", r, got, wantMid[r])
		}
		for k := 0; k < n; k++ {
			if row(r)[k] != row(r)[n-1-k] {
				t.Errorf("row %d not symmetric at %d", r, k)
				break
			}
		}
	}
	hi2 := []float64{0.03125, 0, -0.28125, 0.5, -0.28125, 0, 0.03125}
	for k, v := range row(3) {
		want := 0.0
		if k >= mid-3 && k <= mid+3 {
			want = hi2[k-(mid-3)]
		}
		if math.Abs(float64(v)-want) > 1e-7 {
			t.Errorf("row 3 tap %d = %g, want %g", k, v, want)
		}
	}
	// Row 0 is the low-pass: positive centre mass, tiny tails.
	if math.Abs(float64(row(0)[0])) > 1e-3 {
		t.Errorf("row 0 edge tap %g: not a smooth low-pass", row(0)[0])
	}
}
