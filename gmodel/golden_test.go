package gmodel

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

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

// relErr is max|got-want| / max|want|.
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(float64(got[i])-float64(want[i])))
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	return num / den
}

func itoa(i int) string { return strconv.Itoa(i) }
