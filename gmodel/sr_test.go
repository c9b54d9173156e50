package gmodel

import (
	"maps"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// srConfig is a micro G (v1 with the locality mask, or final with
// relative positions) whose latent size equals the bottom map's pixel count
// times 3, so that l1 can be set to act as sr_embed per token.
func srConfig(t *testing.T, preset string) *model.Config {
	t.Helper()
	cfg, err := model.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	cfg.GDim, cfg.BottomWidth, cfg.GDepths, cfg.ImageSize = 64, 2, []int{1, 1, 1}, 8
	cfg.LatentDim = 3 * cfg.BottomWidth * cfg.BottomWidth
	cfg.DDim, cfg.DDepth, cfg.DPatch = 16, 1, 2
	if cfg.Version == model.V1 {
		cfg.MaskSchedule = []model.MaskStep{{UntilEpoch: 1, Window: 4}}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSRMatchesGenerator: BuildSRGenerator repeats BuildGenerator after the
// bottom tokens. With l1 set block-diagonally to sr_embed (token n of l1(z)
// = sr_embed(z[3n:3n+3])) and z the low-res pixels in token order, both
// nets give the same image, masked and unmasked (v1), and for the final
// G's relative positions.
func TestSRMatchesGenerator(t *testing.T) {
	for _, preset := range []string{"tiny", "final-cifar"} {
		t.Run(preset, func(t *testing.T) { checkSRMatchesGenerator(t, srConfig(t, preset)) })
	}
}

func checkSRMatchesGenerator(t *testing.T, cfg *model.Config) {
	rng := rand.New(rand.NewSource(3))
	w := model.InitWeights(append(cfg.GParams(), SRParams(cfg)...), rng)
	for _, name := range slices.Sorted(maps.Keys(w)) { // a fixed order: the same weights every run
		for i := range w[name].F32 {
			w[name].F32[i] += float32(0.1 * rng.NormFloat64())
		}
	}
	C, N0 := cfg.GDim, cfg.BottomWidth*cfg.BottomWidth
	l1w, l1b := w[model.GL1W].F32, w[model.GL1B].F32 // [N0*C, 3*N0], [N0*C]
	for i := range l1w {
		l1w[i] = 0
	}
	for n := 0; n < N0; n++ {
		for c := 0; c < C; c++ {
			for k := 0; k < 3; k++ {
				l1w[(n*C+c)*3*N0+3*n+k] = w[SREmbedW].F32[c*3+k]
			}
			l1b[n*C+c] = w[SREmbedB].F32[c]
		}
	}
	const B = 2
	wd := cfg.BottomWidth
	low := make([]float32, B*3*N0)
	for i := range low {
		low[i] = float32(rng.NormFloat64())
	}
	z := make([]float32, len(low)) // [B, N0, 3] from [B, 3, N0]
	for b := 0; b < B; b++ {
		for k := 0; k < 3; k++ {
			for n := 0; n < N0; n++ {
				z[(b*N0+n)*3+k] = low[(b*3+k)*N0+n]
			}
		}
	}
	g, err := BuildGenerator(cfg, w, B)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := BuildSRGenerator(cfg, w, B)
	if err != nil {
		t.Fatal(err)
	}
	if sr.Input.Shape()[2] != wd || len(sr.Output.Shape()) != 4 || sr.Output.Shape()[3] != cfg.ImageSize {
		t.Fatalf("shapes: in %v out %v", sr.Input.Shape(), sr.Output.Shape())
	}
	if _, ok := sr.Params[model.GL1W]; ok {
		t.Error("the SR net uses l1")
	}
	var outs [][]float32
	for _, epoch := range []int{0, -1} {
		g.SetEpoch(epoch)
		sr.SetEpoch(epoch)
		a, err := g.Forward(z)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sr.Forward(low)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
		worst := 0.0
		for i := range a {
			worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
		}
		if worst > 1e-5 {
			t.Errorf("epoch %d: SR path differs from G by %g", epoch, worst)
		}
	}
	if masked := cfg.Version == model.V1; masked == (outs[0][0] == outs[1][0]) {
		t.Errorf("v1 mask on/off changes the image: %t, want %t", outs[0][0] != outs[1][0], masked)
	}
}

func TestDownsample(t *testing.T) {
	img := make([]float32, 2*3*4*4)
	for i := range img {
		img[i] = float32(i)
	}
	out, err := Downsample(img, 2, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	// plane p, block (y, x): mean of rows 2y..2y+1, cols 2x..2x+1.
	for p := 0; p < 6; p++ {
		for y := 0; y < 2; y++ {
			for x := 0; x < 2; x++ {
				base := float32(p*16 + 2*y*4 + 2*x)
				want := (base + base + 1 + base + 4 + base + 5) / 4
				if got := out[p*4+y*2+x]; got != want {
					t.Fatalf("plane %d (%d,%d): %g, want %g", p, y, x, got, want)
				}
			}
		}
	}
	if _, err := Downsample(img, 2, 4, 3); err == nil {
		t.Error("side 3 of 4 accepted")
	}
}
