package metrics

import (
	"encoding/json"
	"github.com/tgan-dev/tgan/internal/testkit"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// expected is the part of testdata/eval/expected.json (make_eval.py) read
// here: torch's features and numpy/scipy's metrics of them.
type expected struct {
	NGen      int       `json:"n_gen"`
	NData     int       `json:"n_data"`
	GenPool   []float32 `json:"gen_pool"`
	GenLogits []float32 `json:"gen_logits"`
	DataPool  []float32 `json:"data_pool"`
	GenMu     []float64 `json:"gen_mu"`
	GenSigma  []float64 `json:"gen_sigma"`
	DataMu    []float64 `json:"data_mu"`
	DataSigma []float64 `json:"data_sigma"`
	FID       float64   `json:"fid"`
}

func loadExpected(t *testing.T) (expected, map[string]json.RawMessage) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(evalData, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	return e, all
}

const pool = 8 // the tiny network's feature dimension

// TestParityMetricsGoldenFeatures feeds torch's features to Compute, FID, KID
// and IS: with the same inputs, the results match numpy/scipy to rounding.
func TestParityMetricsGoldenFeatures(t *testing.T) {
	e, all := loadExpected(t)
	gen, err := Compute(e.GenPool, e.NGen, pool)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Compute(e.DataPool, e.NData, pool)
	if err != nil {
		t.Fatal(err)
	}
	closeTo := func(what string, got, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12*math.Max(1, math.Abs(want[i])) {
				t.Fatalf("%s[%d] = %.15g, numpy %.15g", what, i, got[i], want[i])
			}
		}
	}
	closeTo("gen mu", gen.Mu, e.GenMu)
	closeTo("gen sigma", gen.Sigma, e.GenSigma)
	closeTo("data sigma", data.Sigma, e.DataSigma)
	fid, err := FrechetDistance(gen, data)
	if err != nil {
		t.Fatal(err)
	}
	if testkit.ScalarRelErr(fid, e.FID) > 1e-9 {
		t.Errorf("FID %.12g, scipy %.12g", fid, e.FID)
	}
	for _, key := range []string{"kid_default", "kid_small"} {
		var k struct {
			Subsets    int     `json:"subsets"`
			SubsetSize int     `json:"subset_size"`
			Seed       uint64  `json:"seed"`
			Mean       float64 `json:"mean"`
			Std        float64 `json:"std"`
		}
		if err := json.Unmarshal(all[key], &k); err != nil {
			t.Fatal(err)
		}
		mean, std, err := KID(e.GenPool, e.NGen, e.DataPool, e.NData, pool,
			KIDOptions{Subsets: k.Subsets, SubsetSize: k.SubsetSize, Seed: k.Seed})
		if err != nil {
			t.Fatal(err)
		}
		if testkit.ScalarRelErr(mean, k.Mean) > 1e-9 || testkit.ScalarRelErr(std, k.Std) > 1e-7 {
			t.Errorf("%s: KID %.12g (std %.8g), numpy %.12g (std %.8g)", key, mean, std, k.Mean, k.Std)
		}
	}
	for key, splits := range map[string]int{"is_10": 10, "is_3": 3} {
		var want struct{ Mean, Std float64 }
		json.Unmarshal(all[key], &want)
		mean, std, err := InceptionScore(e.GenLogits, e.NGen, 10, splits)
		if err != nil {
			t.Fatal(err)
		}
		if testkit.ScalarRelErr(mean, want.Mean) > 1e-9 || testkit.ScalarRelErr(std, want.Std) > 1e-7 {
			t.Errorf("%s: IS %.12g (std %.8g), numpy %.12g (std %.8g)", key, mean, std, want.Mean, want.Std)
		}
	}
}

// TestStatsRoundTrip: Write then ReadStats gives back every array.
func TestStatsRoundTrip(t *testing.T) {
	e, _ := loadExpected(t)
	s, err := Compute(e.DataPool, e.NData, pool)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, withFeatures := range []bool{true, false} {
		path := filepath.Join(dir, "s.npz")
		if err := s.Write(path, withFeatures); err != nil {
			t.Fatal(err)
		}
		r, err := ReadStats(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Mu, s.Mu) || !slices.Equal(r.Sigma, s.Sigma) || r.N != s.N {
			t.Errorf("features=%v: statistics changed in the round trip", withFeatures)
		}
		if withFeatures != (r.Features != nil) || (withFeatures && !slices.Equal(r.Features, s.Features)) {
			t.Errorf("features=%v: read back %d feature values", withFeatures, len(r.Features))
		}
	}
	if _, err := Compute(e.DataPool[:pool], 1, pool); err == nil {
		t.Error("statistics of one vector succeeded")
	}
}

// TestSubsetIndices: distinct, in range, reproducible.
func TestSubsetIndices(t *testing.T) {
	a, b := SplitMix64(9), SplitMix64(9)
	x, y := SubsetIndices(&a, 100, 30), SubsetIndices(&b, 100, 30)
	if !slices.Equal(x, y) {
		t.Fatal("same seed, different subsets")
	}
	seen := map[int]bool{}
	for _, i := range x {
		if i < 0 || i >= 100 || seen[i] {
			t.Fatalf("bad subset %v", x)
		}
		seen[i] = true
	}
	// splitmix64's published first output for seed 0.
	var s SplitMix64
	if got := s.Next(); got != 0xe220a8397b1dcdaf {
		t.Errorf("splitmix64(0) = %#x, want 0xe220a8397b1dcdaf", got)
	}
}

// TestResizeIdentityAndAverage: same size copies; halving averages pairs.
func TestResizeIdentityAndAverage(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	dst := make([]float32, 16)
	if err := ResizeBilinear(dst, src, 1, 4, 4, 4, 4); err != nil || !slices.Equal(dst, src) {
		t.Errorf("identity resize: %v %v", dst, err)
	}
	half := make([]float32, 4)
	ResizeBilinear(half, src, 1, 4, 4, 2, 2)
	if want := []float32{3.5, 5.5, 11.5, 13.5}; !slices.Equal(half, want) {
		t.Errorf("4x4 -> 2x2 = %v, want %v", half, want)
	}
}
