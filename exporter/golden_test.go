package exporter

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/testkit"
)

// goldenDir holds the cases made by testdata/ref/make_golden.py with an
// independent PyTorch implementation: official.pth, z.npy, g.npy (the EMA
// generator's output), images.npy and d.npy (the discriminator's logits).
var goldenDir = filepath.Join("..", "testdata", "golden")

// goldenTol bounds max|got-want| / max|want|.
const goldenTol = 1e-4

// TestParityGolden imports each official checkpoint, exports G and D, runs them
// in ONNX Runtime at the golden batch and compares with PyTorch.
func TestParityGolden(t *testing.T) {
	env := openEnv(t, 0)
	cases, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range cases {
		dir := filepath.Join(goldenDir, c.Name())
		if !fileExists(filepath.Join(dir, "official.pth")) || !fileExists(filepath.Join(dir, "g.npy")) {
			continue // another kind of golden (e.g. a training step)
		}
		if slices.Contains(zooGoldens, c.Name()) {
			continue // with attention-noise draws: TestParityZoo
		}
		ran++
		t.Run(c.Name(), func(t *testing.T) {
			ck, _, err := pth.Import(filepath.Join(dir, "official.pth"), pth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cfg := ck.Config
			gm, err := Generator(cfg, ck.Sampler(), nil)
			if err != nil {
				t.Fatal(err)
			}
			z, zShape := readNpy(t, dir, "z.npy")
			want, wantShape := readNpy(t, dir, "g.npy")
			got, shape := runFile(t, env, gm, "g.onnx", z, int64s(zShape))
			if !equalShape(shape, int64s(wantShape)...) {
				t.Fatalf("G output shape %v, want %v", shape, wantShape)
			}
			e := testkit.RelErr(got, want)
			t.Logf("G max rel err %.3g", e)
			if e > goldenTol {
				t.Errorf("G: max rel err %.3g > %.0g", e, goldenTol)
			}
			if !fileExists(filepath.Join(dir, "d.npy")) {
				return // a bare generator checkpoint
			}
			dm, err := Discriminator(cfg, ck.Dis, nil)
			if err != nil {
				t.Fatal(err)
			}
			img, imgShape := readNpy(t, dir, "images.npy")
			want, _ = readNpy(t, dir, "d.npy")
			got, _ = runFile(t, env, dm, "d.onnx", img, int64s(imgShape))
			e = testkit.RelErr(got, want)
			t.Logf("D max rel err %.3g", e)
			if e > goldenTol {
				t.Errorf("D: max rel err %.3g > %.0g", e, goldenTol)
			}
		})
	}
	if ran < 5 {
		t.Errorf("found %d golden cases with official.pth and g.npy in %s, want at least 5", ran, goldenDir)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readNpy(tb testing.TB, dir, name string) ([]float32, []int) {
	tb.Helper()
	v, shape, err := npy.ReadFloat32(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return v, shape
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
