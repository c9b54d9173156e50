package metrics

import (
	"encoding/json"
	"github.com/tgan-dev/tgan/internal/testkit"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// evalData holds the files made by testdata/eval/make_*.py.
var evalData = filepath.Join("..", "..", "..", "testdata", "eval")

// fidCase is one entry of fid_golden.json.
type fidCase struct {
	Name         string  `json:"name"`
	D            int     `json:"d"`
	N            int     `json:"n"`
	Seed1, Seed2 int     `json:"-"`
	Decay        float64 `json:"decay"`
	FID          float64 `json:"fid"`
	TrCovmean    float64 `json:"tr_covmean"`
}

func (c *fidCase) UnmarshalJSON(b []byte) error {
	type plain fidCase
	var aux struct {
		plain
		Seed1 int `json:"seed1"`
		Seed2 int `json:"seed2"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*c = fidCase(aux.plain)
	c.Seed1, c.Seed2 = aux.Seed1, aux.Seed2
	return nil
}

func loadFIDGolden(tb testing.TB) []fidCase {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(evalData, "fid_golden.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var cases []fidCase
	if err := json.Unmarshal(b, &cases); err != nil {
		tb.Fatal(err)
	}
	return cases
}

// TestParityFIDScipy checks FrechetDistance against pytorch-fid's
// scipy-sqrtm value to 1e-5 relative, including 2048-d statistics.
func TestParityFIDScipy(t *testing.T) {
	for _, c := range loadFIDGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			if c.D > 256 && testing.Short() {
				t.Skip("2048-d case takes seconds")
			}
			a, b := synthStats(c.D, c.N, c.Seed1, c.Decay), synthStats(c.D, c.N, c.Seed2, c.Decay)
			tr, err := TraceSqrtProduct(a.Sigma, b.Sigma, c.D)
			if err != nil {
				t.Fatal(err)
			}
			fid, err := FrechetDistance(a, b)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("fid %.12g (scipy %.12g, rel %.2g); tr %.12g (scipy %.12g, rel %.2g)",
				fid, c.FID, testkit.ScalarRelErr(fid, c.FID), tr, c.TrCovmean, testkit.ScalarRelErr(tr, c.TrCovmean))
			if e := testkit.ScalarRelErr(tr, c.TrCovmean); e > 1e-5 {
				t.Errorf("Tr sqrtm(S1 S2) = %.12g, scipy %.12g: relative error %.2g > 1e-5", tr, c.TrCovmean, e)
			}
			if e := testkit.ScalarRelErr(fid, c.FID); e > 1e-5 {
				t.Errorf("FID = %.12g, scipy %.12g: relative error %.2g > 1e-5", fid, c.FID, e)
			}
		})
	}
}

// TestFIDProperties: FID(a, a) = 0 and FID is symmetric.
func TestFIDProperties(t *testing.T) {
	a, b := synthStats(32, 50, 7, 1), synthStats(32, 50, 8, 1)
	self, err := FrechetDistance(a, a)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(self) > 1e-10 {
		t.Errorf("FID(a, a) = %g, want 0", self)
	}
	ab, _ := FrechetDistance(a, b)
	ba, _ := FrechetDistance(b, a)
	if testkit.ScalarRelErr(ab, ba) > 1e-10 {
		t.Errorf("FID(a, b) = %.15g, FID(b, a) = %.15g", ab, ba)
	}
	if _, err := FrechetDistance(a, synthStats(16, 20, 1, 0)); err == nil {
		t.Error("FID of 32-d and 16-d statistics succeeded")
	}
	bad := synthStats(8, 10, 1, 0)
	bad.Sigma[3] = math.NaN()
	if _, err := FrechetDistance(bad, bad); err == nil {
		t.Error("FID with NaN succeeded")
	}
}

// TestTTURFiles reads the TTUR-format (np.savez_compressed) pair and gets
// the golden FID of the same case.
func TestTTURFiles(t *testing.T) {
	a, err := ReadStats(filepath.Join(evalData, "ttur_a.npz"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadStats(filepath.Join(evalData, "ttur_b.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Dim() != 64 || a.Features != nil || a.N != 0 {
		t.Fatalf("ttur_a: dim %d, features %v, n %d", a.Dim(), a.Features != nil, a.N)
	}
	var want fidCase
	for _, c := range loadFIDGolden(t) {
		if c.Name == "d64-decay" {
			want = c
		}
	}
	fid, err := FrechetDistance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if e := testkit.ScalarRelErr(fid, want.FID); e > 1e-9 {
		t.Errorf("FID of the TTUR files = %.12g, want %.12g (rel %.2g)", fid, want.FID, e)
	}
	// The formula in Go rebuilds the same statistics.
	s := synthStats(64, 96, 3, 8)
	for i := range s.Sigma {
		if math.Abs(s.Sigma[i]-a.Sigma[i]) > 1e-15 {
			t.Fatalf("sigma[%d] = %g, file %g", i, s.Sigma[i], a.Sigma[i])
		}
	}
}
