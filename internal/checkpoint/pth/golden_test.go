package pth

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
)

// goldenDir holds official-format checkpoints written by
// testdata/ref/make_golden.py with the independent PyTorch reference.
const goldenDir = "../../../testdata/golden"

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

func TestParityImportGolden(t *testing.T) {
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
			if hiresGoldens[filepath.Base(dir)] {
				checkHiresGolden(t, dir, raw, ck)
			} else if c.GRelPos != (c.Version == model.Final) || c.DRelPos != (!bare && c.Version == model.Final) {
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
//	TGAN_FULL_PTH=/tmp/v1-s/official.pth go test -run FullSize -v ./internal/checkpoint/pth
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

// leanGoldens are the cases make_golden.py writes "lean": Adam holds state
// only for the parameters of at most leanNumel elements (the larger ones
// get no gradient in the reference's step).
var leanGoldens = map[string]bool{"v1_celeba_small": true, "final_small": true, "final_mid": true,
	"final_stl_small": true, "final_norp_small": true, "celeba256_small": true, "church256_small": true}

// hiresGoldens are the cases of testdata/ref/make_golden_hires.py, whose
// case.json is a whole tgan config (plus test fields).
var hiresGoldens = map[string]bool{"final_stl_small": true, "final_norp_small": true,
	"celeba256_small": true, "church256_small": true}

// checkHiresGolden: the config inferred from the tensors alone is
// case.json's, and every tensor of the file's three state dicts is
// imported unchanged under its own name, none left over.
func checkHiresGolden(t *testing.T, dir string, caseJSON []byte, ck *checkpoint.Checkpoint) {
	t.Helper()
	var want model.Config
	if err := json.Unmarshal(caseJSON, &want); err != nil {
		t.Fatal(err)
	}
	if got := ck.Config.JSON(); got != want.JSON() {
		t.Errorf("inferred config\n %s\nwant %s", got, want.JSON())
	}
	obj, err := loadPickle(filepath.Join(dir, "official.pth"))
	if err != nil {
		t.Fatal(err)
	}
	top, _ := dictEntries(obj)
	for _, e := range top {
		var w model.Weights
		switch e.key {
		case keyGen:
			w = ck.Gen
		case keyAvgGen:
			w = ck.AvgGen
		case keyDis:
			w = ck.Dis
		default:
			continue
		}
		es, _ := dictEntries(e.value)
		file, err := (&importer{}).stateDict(e.key, es)
		if err != nil {
			t.Fatal(err)
		}
		if len(file) != len(w) {
			t.Errorf("%s: %d tensors in the file, %d imported", e.key, len(file), len(w))
		}
		sameWeights(t, e.key, w, file)
	}
}

const leanNumel = 4096

// TestParityImportGoldenAdam: the reference's optimizer states (one Adam step,
// betas (0, 0.99), from the official parameters() order) import in full
// for G and D, with no "not imported" warning: every parameter the
// reference stepped gets its moments under its own name, and those moments
// are a first Adam step's (exp_avg = g, exp_avg_sq = 0.01 g^2), so a moment
// filed under the wrong parameter or left at zero fails.
func TestParityImportGoldenAdam(t *testing.T) {
	for _, dir := range goldenCases(t) {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			ck, warns, err := Import(filepath.Join(dir, "official.pth"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if ck.Dis == nil {
				t.Skip("bare generator: no optimizer state")
			}
			for _, w := range warns {
				if strings.Contains(w, "optimizer") && strings.Contains(w, "not imported") {
					t.Errorf("warning: %s", w)
				}
			}
			if ck.Meta[metaAdamGStep] != "1" || ck.Meta[metaAdamDStep] != "1" {
				t.Errorf("Adam steps G %q D %q, want 1 and 1", ck.Meta[metaAdamGStep], ck.Meta[metaAdamDStep])
			}
			checkFirstAdamStep(t, ck, "gen", ck.Config.GParams(), leanGoldens[name])
			checkFirstAdamStep(t, ck, "dis", ck.Config.DParams(), leanGoldens[name])
		})
	}
}

// checkFirstAdamStep checks the imported moments of one network: present
// for every trained parameter, non-zero exactly where the reference kept
// state, and related as after one step with beta1 0 and beta2 0.99.
func checkFirstAdamStep(t *testing.T, ck *checkpoint.Checkpoint, net string, params []model.Param, lean bool) {
	t.Helper()
	stepped := 0
	for _, p := range params {
		if p.Buffer {
			continue
		}
		m, v := ck.Extra[optKey(net, "m", p.Name)], ck.Extra[optKey(net, "v", p.Name)]
		if m == nil || v == nil || !model.SameShape(m.Shape, p.Shape) || !model.SameShape(v.Shape, p.Shape) {
			t.Fatalf("%s %s: moments missing or misshapen", net, p.Name)
		}
		hasState := false
		for i, g := range m.F32 {
			hasState = hasState || v.F32[i] != 0
			want := 0.01 * float64(g) * float64(g)
			if d := math.Abs(float64(v.F32[i]) - want); d > 1e-6*want+1e-30 {
				t.Fatalf("%s %s[%d]: exp_avg %g, exp_avg_sq %g, want 0.01 exp_avg^2 = %g", net, p.Name, i, g, v.F32[i], want)
			}
		}
		if wantState := !lean || p.Size() <= leanNumel; hasState != wantState {
			t.Errorf("%s %s (%d elements): Adam state %v, want %v", net, p.Name, p.Size(), hasState, wantState)
		}
		if hasState {
			stepped++
		}
	}
	t.Logf("%s: %d parameters with Adam moments", net, stepped)
}
