package pth

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// TestInferPresets: the final-code presets at their official sizes are
// recognised from their tensor shapes alone (no data needed to infer).
func TestInferPresets(t *testing.T) {
	for _, name := range []string{"final-cifar", "final-cifar-norp", "final-stl", "celeba-hq-256", "church-256"} {
		cfg, err := model.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		shapes := func(ps []model.Param) map[string]*model.Tensor {
			m := make(map[string]*model.Tensor, len(ps))
			for _, p := range ps {
				m[p.Name] = &model.Tensor{Shape: p.Shape}
			}
			return m
		}
		got, err := inferG(shapes(cfg.GParams()), Options{})
		if err == nil {
			err = inferD(shapes(cfg.DParams()), got, Options{})
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.JSON() != cfg.JSON() {
			t.Errorf("%s: inferred\n %s\nwant %s", name, got.JSON(), cfg.JSON())
		}
	}
}

// TestWriteHiresForReference writes, when TGAN_HIRES_PTH names a folder,
// an export --pth of a random checkpoint (weights, EMA, Adam moments) of
// every new family at small size, with and without the module. prefix,
// plus its config, for testdata/ref/check_export_pth_hires.py to load
// strictly into the PyTorch reference.
func TestWriteHiresForReference(t *testing.T) {
	dir := os.Getenv("TGAN_HIRES_PTH")
	if dir == "" {
		t.Skip("set TGAN_HIRES_PTH to a folder to write the files")
	}
	if os.Getenv("TGAN_HIRES_PTH_FULL") != "" {
		writeFullSize(t, dir)
		return
	}
	for name, cfg := range hiresConfigs(t) {
		ck := hiresCheckpoint(t, cfg, 9)
		for _, prefix := range []bool{false, true} {
			out := filepath.Join(dir, name+map[bool]string{false: ".pth", true: "_module.pth"}[prefix])
			if _, err := Export(out, ck, withRecipe(t, ck, ExportOptions{ModulePrefix: prefix})); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(cfg.JSON()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeFullSize writes the four presets at their official sizes: random
// weights, no EMA (export copies G) and no Adam moments (empty optimizer
// states), to keep the files at about twice the generator's size.
func writeFullSize(t *testing.T, dir string) {
	for _, name := range []string{"final-stl", "final-cifar-norp", "celeba-hq-256", "church-256"} {
		cfg, err := model.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewSource(1))
		ck := &checkpoint.Checkpoint{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rng),
			Dis: model.InitWeights(cfg.DParams(), rng), Meta: map[string]string{}}
		info, err := Export(filepath.Join(dir, name+".pth"), ck, withRecipe(t, ck, ExportOptions{ModulePrefix: true}))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s + %s, notes %q", name, info.GenModel, info.DisModel, info.Notes)
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(cfg.JSON()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
