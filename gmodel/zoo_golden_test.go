package gmodel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/testkit"
)

// zooCase is the test part of a zoo golden's case.json.
type zooCase struct {
	Batch       int     `json:"batch"`
	GNoiseShape [][]int `json:"g_noise_shapes"`
	DNoiseShape [][]int `json:"d_noise_shapes"`
}

// TestParityZoo runs the zoo families (testdata/ref/make_golden_hires.py:
// the official modules at small sizes, batch 2 or 4, random non-zero noise
// strengths) on their official.pth and the reference's own attention
// noise draws, and compares G (EMA weights) and D (no augmentation) with
// the PyTorch outputs.
func TestParityZoo(t *testing.T) {
	for _, name := range []string{"final_stl_small", "final_norp_small", "celeba256_small", "church256_small"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "golden", name)
			ck, _, err := pth.Import(filepath.Join(dir, "official.pth"), pth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			var c zooCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			g, err := gmodel.BuildGenerator(ck.Config, ck.Sampler(), c.Batch)
			if err != nil {
				t.Fatal(err)
			}
			rel := parityRun(t, g, c.GNoiseShape, filepath.Join(dir, "z.npy"), filepath.Join(dir, "g_noise.npy"), filepath.Join(dir, "g.npy"))
			t.Logf("G: max|err|/max|ref| = %.3g", rel)
			d, err := gmodel.BuildDiscriminator(ck.Config, ck.Dis, c.Batch)
			if err != nil {
				t.Fatal(err)
			}
			rel = parityRun(t, d, c.DNoiseShape, filepath.Join(dir, "images.npy"), filepath.Join(dir, "d_noise.npy"), filepath.Join(dir, "d.npy"))
			t.Logf("D: max|err|/max|ref| = %.3g", rel)
		})
	}
}

// parityRun checks the net's noise sites against the reference's draw
// shapes, feeds the reference draws, runs input and compares with want.
func parityRun(t *testing.T, n *gmodel.Net, shapes [][]int, input, noise, want string) float64 {
	t.Helper()
	sites := n.NoiseSites()
	if len(sites) != len(shapes) {
		t.Fatalf("%d noise sites, the reference drew %d times", len(sites), len(shapes))
	}
	for i, s := range sites {
		if sh := shapes[i]; sh[0]*sh[1] != n.Batch*s.Tokens {
			t.Errorf("noise site %d: %+v, reference draw %v", i, s, sh)
		}
	}
	if len(sites) > 0 {
		draws, err := gmodel.OfficialNoise(sites, n.Batch, readNPY(t, noise))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.SetNoiseDraws(draws); err != nil {
			t.Fatal(err)
		}
	}
	got, err := n.Forward(readNPY(t, input))
	if err != nil {
		t.Fatal(err)
	}
	ref := readNPY(t, want)
	if len(got) != len(ref) {
		t.Fatalf("%d outputs, reference has %d", len(got), len(ref))
	}
	rel := testkit.RelErr(got, ref)
	if !(rel < 1e-4) {
		t.Errorf("%s: max|err|/max|ref| = %.3g, want < 1e-4", filepath.Base(want), rel)
	}
	return rel
}
