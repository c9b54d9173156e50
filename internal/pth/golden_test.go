package pth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// goldenDir holds official-format checkpoints written by
// testdata/ref/make_golden.py with the independent PyTorch reference.
const goldenDir = "../../testdata/golden"

// goldenCase is the architecture part of a golden case.json.
type goldenCase struct {
	Version     model.Version `json:"version"`
	LatentDim   int           `json:"latent_dim"`
	GDim        int           `json:"g_dim"`
	BottomWidth int           `json:"bottom_width"`
	GDepths     []int         `json:"g_depths"`
	GHeads      int           `json:"g_heads"`
	MLPRatio    int           `json:"mlp_ratio"`
	ImageSize   int           `json:"image_size"`
	DKind       model.DKind   `json:"d_kind"`
	DDim        int           `json:"d_dim"`
	DDepth      int           `json:"d_depth"`
	DPatch      int           `json:"d_patch"`
	DHeads      int           `json:"d_heads"`
}

func goldenCases(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(goldenDir, "*", "official.pth"))
	if len(dirs) == 0 {
		t.Skipf("no golden checkpoints under %s", goldenDir)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

func TestImportGolden(t *testing.T) {
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want goldenCase
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			ck, warns, err := Import(filepath.Join(dir, "official.pth"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warns {
				t.Log("warning:", w)
			}
			c := ck.Config
			got := goldenCase{c.Version, c.LatentDim, c.GDim, c.BottomWidth, c.GDepths, c.GHeads,
				c.MLPRatio, c.ImageSize, c.DKind, c.DDim, c.DDepth, c.DPatch, c.DHeads}
			bare := ck.Dis == nil
			if bare { // the D fields of a bare G come from a preset
				got.DKind, got.DDim, got.DDepth, got.DPatch, got.DHeads = want.DKind, want.DDim, want.DDepth, want.DPatch, want.DHeads
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inferred config\n got %+v\nwant %+v", got, want)
			}
			if c.GRelPos != (c.Version == model.Final) || c.DRelPos != (!bare && c.Version == model.Final) {
				t.Errorf("rel-pos G %v D %v for %s", c.GRelPos, c.DRelPos, c.Version)
			}
			if err := ck.Gen.Check(c.GParams()); err != nil {
				t.Error(err)
			}
			if !bare {
				if ck.AvgGen == nil {
					t.Fatal("training checkpoint without AvgGen")
				}
				if err := ck.AvgGen.Check(c.GParams()); err != nil {
					t.Error(err)
				}
				if err := ck.Dis.Check(c.DParams()); err != nil {
					t.Error(err)
				}
				differ := 0 // lean goldens share the large tensors between G and EMA G
				for k, g := range ck.Gen {
					if !reflect.DeepEqual(g, ck.AvgGen[k]) {
						differ++
					}
					if len(g.F32) > 0 && &g.F32[0] == &ck.AvgGen[k].F32[0] {
						t.Fatalf("Gen and AvgGen share the memory of %q", k)
					}
				}
				if differ == 0 {
					t.Error("AvgGen equals Gen: the EMA dict was not used")
				}
			}
			// The import writes and reloads as a tgan checkpoint.
			path := filepath.Join(t.TempDir(), "ckpt.safetensors")
			if err := checkpoint.Save(path, ck); err != nil {
				t.Fatal(err)
			}
			if _, err := checkpoint.Load(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestImportFullSize imports a real-size file when TGAN_FULL_PTH names one,
// e.g. one made by
//
//	/usr/bin/python3 testdata/ref/make_golden.py --case v1-s --out /tmp/v1-s
//	TGAN_FULL_PTH=/tmp/v1-s/official.pth go test -run FullSize -v ./internal/pth
func TestImportFullSize(t *testing.T) {
	src := os.Getenv("TGAN_FULL_PTH")
	if src == "" {
		t.Skip("set TGAN_FULL_PTH to an official full-size .pth to run")
	}
	start := time.Now()
	ck, warns, err := Import(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("import %s: %v (%s, warnings %q)", src, time.Since(start), ck.Config.JSON(), warns)
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	start = time.Now()
	if err := checkpoint.Save(path, ck); err != nil {
		t.Fatal(err)
	}
	t.Logf("save: %v", time.Since(start))
	start = time.Now()
	if _, err := checkpoint.Load(path); err != nil {
		t.Fatal(err)
	}
	t.Logf("load: %v", time.Since(start))
}
