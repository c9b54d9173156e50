package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// prdcCase is one case of testdata/prdc.json (testdata/ref/prdc_ref.py):
// two feature sets and, per k, numpy's metrics from the papers' definitions
// or the set whose size k exceeds.
type prdcCase struct {
	Name    string    `json:"name"`
	D       int       `json:"d"`
	Tile    int       `json:"tile"`
	Real    []float32 `json:"real"`
	NReal   int       `json:"n_real"`
	Fake    []float32 `json:"fake"`
	NFake   int       `json:"n_fake"`
	Results []struct {
		K         int       `json:"k"`
		Error     string    `json:"error"`
		Precision float64   `json:"precision"`
		Recall    float64   `json:"recall"`
		Density   float64   `json:"density"`
		Coverage  float64   `json:"coverage"`
		RealRadii []float64 `json:"real_radii"`
	} `json:"results"`
}

func loadPRDCCases(t *testing.T) []prdcCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "prdc.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []prdcCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no cases in testdata/prdc.json")
	}
	return f.Cases
}

// TestParityPRDCReference: on the reference's fixed features (continuous,
// integer with exact ties and duplicates, k up to one less than the smaller
// set, disjoint sets), the four metrics equal numpy's to 1e-6 and the real
// radii to 1e-9, with the default tiles and with tiles small enough that
// every distance matrix spans many; k at least a set's size is an error
// naming that set.
func TestParityPRDCReference(t *testing.T) {
	defer func(t int) { tileRows = t }(tileRows)
	for _, c := range loadPRDCCases(t) {
		tiles := []int{1024}
		if c.Tile > 0 {
			tiles = append(tiles, c.Tile, 1)
		}
		for _, tile := range tiles {
			tileRows = tile
			for _, want := range c.Results {
				name := fmt.Sprintf("%s/k=%d/tile=%d", c.Name, want.K, tile)
				got, err := ComputePRDC(c.Real, c.NReal, c.Fake, c.NFake, c.D, want.K)
				if want.Error != "" {
					if err == nil || !strings.Contains(err.Error(), want.Error+" features") || !strings.Contains(err.Error(), "needs at least") {
						t.Errorf("%s: error %v, want one about the %s features", name, err, want.Error)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				for _, m := range []struct {
					what      string
					got, want float64
				}{{"precision", got.Precision, want.Precision}, {"recall", got.Recall, want.Recall},
					{"density", got.Density, want.Density}, {"coverage", got.Coverage, want.Coverage}} {
					if math.Abs(m.got-m.want) > 1e-6 {
						t.Errorf("%s: %s %.9g, reference %.9g", name, m.what, m.got, m.want)
					}
				}
				if got.K != want.K {
					t.Errorf("%s: K = %d", name, got.K)
				}
				rm, err := NewManifold(c.Real, c.NReal, c.D, want.K)
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range rm.Radii() {
					if math.Abs(r-want.RealRadii[i]) > 1e-9*math.Max(1, want.RealRadii[i]) {
						t.Errorf("%s: radius %d = %.12g, reference %.12g", name, i, r, want.RealRadii[i])
						break
					}
				}
			}
		}
	}
}

// TestPRDCSameSet: a set against itself has precision, recall and coverage
// 1 (every point is the centre of its own ball) and density at least 1.
func TestPRDCSameSet(t *testing.T) {
	c := loadPRDCCases(t)[0]
	got, err := ComputePRDC(c.Real, c.NReal, c.Real, c.NReal, c.D, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Precision != 1 || got.Recall != 1 || got.Coverage != 1 || got.Density < 1 {
		t.Errorf("a set against itself: %+v", got)
	}
}

// TestPRDCBadInput: mismatched shapes, k < 1 and NaN are errors, not panics.
func TestPRDCBadInput(t *testing.T) {
	x := []float32{0, 1, 2, 3, 4, 5}
	if _, err := ComputePRDC(x, 3, x, 2, 2, 1); err == nil {
		t.Error("6 values as 2 vectors of 2: no error")
	}
	if _, err := ComputePRDC(x, 3, x, 3, 2, 0); err == nil || !strings.Contains(err.Error(), "k = 0") {
		t.Errorf("k = 0: %v", err)
	}
	nan := []float32{0, 1, float32(math.NaN()), 3, 4, 5}
	if _, err := ComputePRDC(x, 3, nan, 3, 2, 1); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN features: %v", err)
	}
	a, _ := NewManifold(x, 3, 2, 1)
	b, _ := NewManifold(x, 2, 3, 1)
	if _, err := ComparePRDC(a, b); err == nil {
		t.Error("2-d against 3-d: no error")
	}
}

// TestPRDCMemoryIsTiled: 6000 x 6000 distances (288 MB as float64) are
// never held at once: the whole computation allocates a few tiles.
func TestPRDCMemoryIsTiled(t *testing.T) {
	const n, d = 6000, 4
	x := make([]float32, 2*n*d)
	for i := range x {
		x[i] = float32(synthUniform(i/d, i%d, d, 5))
	}
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	if _, err := ComputePRDC(x[:n*d], n, x[n*d:], n, d, 3); err != nil {
		t.Fatal(err)
	}
	goruntime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 40<<20 {
		t.Errorf("allocated %d MB for %d x %d features", got>>20, n, n)
	}
}

// BenchmarkPRDC2048: 2000 real and 2000 generated 2048-d features, k = 3
// (three distance passes: real-real and fake-fake upper triangles, and
// real-fake).
func BenchmarkPRDC2048(b *testing.B) {
	const n, d = 2000, 2048
	x := make([]float32, 2*n*d)
	for i := range x {
		x[i] = float32(synthUniform(i/d, i%d, d, 1))
	}
	b.ResetTimer()
	for range b.N {
		if _, err := ComputePRDC(x[:n*d], n, x[n*d:], n, d, 3); err != nil {
			b.Fatal(err)
		}
	}
}
