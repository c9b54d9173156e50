package gmodel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
)

// caseConfig reads testdata/golden/<case>/case.json into a model.Config.
func caseConfig(t testing.TB, dir string) (*model.Config, int, []int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		model.Config
		Batch      int   `json:"batch"`
		MaskEpochs []int `json:"mask_epochs"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	cfg := c.Config
	cfg.GRelPos = cfg.Version == model.Final
	cfg.DRelPos = cfg.DKind == model.DScale2
	if cfg.Version == model.V1 {
		cfg.MaskSchedule = model.V1MaskSchedule()
		if cfg.Stages() >= 4 {
			cfg.MaskSchedule = model.V1CelebAMaskSchedule()
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return &cfg, c.Batch, c.MaskEpochs
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestParityMaskEpochs runs the v1 generators with the locality mask of
// several training epochs and compares with the PyTorch reference
// (testdata/ref/make_golden.py), plus the unmasked and D outputs.
func TestParityMaskEpochs(t *testing.T) {
	for _, name := range []string{"v1_small", "v1_celeba_small", "v1_stl_small", "final_small", "final_mid"} {
		dir := filepath.Join("..", "testdata", "golden", name)
		ck, _, err := pth.Import(filepath.Join(dir, "official.pth"), pth.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, batch, epochs := caseConfig(t, dir)
		g, err := gmodel.BuildGenerator(ck.Config, ck.Sampler(), batch)
		if err != nil {
			t.Fatal(err)
		}
		z := readNPY(t, filepath.Join(dir, "z.npy"))
		for _, e := range append([]int{-1}, epochs...) {
			g.SetEpoch(e)
			got, err := g.Forward(z)
			if err != nil {
				t.Fatal(err)
			}
			file := "g.npy"
			if e >= 0 {
				file = "g_epoch" + itoa(e) + ".npy"
			}
			if rel := testkit.RelErr(got, readNPY(t, filepath.Join(dir, file))); !(rel < 1e-5) {
				t.Errorf("%s %s: max|err|/max|ref| = %.3g", name, file, rel)
			}
		}
	}
}

func readNPY(t *testing.T, path string) []float32 {
	t.Helper()
	v, _, err := npy.ReadFloat32(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
