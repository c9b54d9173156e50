package main

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/npy"
)

// goldenCases are the official-format checkpoints made by the independent
// PyTorch reference (testdata/ref/make_golden.py) with their outputs.
var goldenCases = []string{"v1_small", "v1_celeba_small", "v1_stl_small", "final_small", "final_mid"}

// TestParityCheckpoint runs the user-facing chain on every golden case:
// tgan import official.pth, tgan infer CKPT --z --raw, tgan score CKPT
// --images --raw, and compares with PyTorch: max|err|/max|ref| <= 1e-4.
func TestParityCheckpoint(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "golden", name)
			ckpt := filepath.Join(t.TempDir(), "ckpt.safetensors")
			mustRun(t, "import", "--out", ckpt, filepath.Join(dir, "official.pth"))
			checkGenerator(t, dir, ckpt)
			checkDiscriminator(t, dir, ckpt)
		})
	}
}

// TestParityONNX continues the chain through ONNX: tgan export --onnx, then
// infer/score on the .onnx files with ONNX Runtime's CPU provider.
func TestParityONNX(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "golden", name)
			tmp := t.TempDir()
			ckpt := filepath.Join(tmp, "ckpt.safetensors")
			mustRun(t, "import", "--out", ckpt, filepath.Join(dir, "official.pth"))
			mustRun(t, "export", "--onnx", tmp, ckpt)
			checkGenerator(t, dir, filepath.Join(tmp, "generator.onnx"), "--provider", "cpu")
			checkDiscriminator(t, dir, filepath.Join(tmp, "discriminator.onnx"), "--provider", "cpu")
		})
	}
}

func checkGenerator(t *testing.T, dir, model string, extra ...string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "g.npy")
	args := append([]string{"infer", "--z", filepath.Join(dir, "z.npy"), "--raw", out, "--out", "", "--batch", "3"}, extra...)
	mustRun(t, append(args, model)...)
	compareNPY(t, filepath.Join(dir, "g.npy"), out)
}

func checkDiscriminator(t *testing.T, dir, model string, extra ...string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "d.npy")); err != nil {
		return // a bare-G case
	}
	out := filepath.Join(t.TempDir(), "d.npy")
	args := append([]string{"score", "--images", filepath.Join(dir, "images.npy"), "--raw", out}, extra...)
	mustRun(t, append(args, model)...)
	compareNPY(t, filepath.Join(dir, "d.npy"), out)
}

func mustRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := runApp(t, args...); err != nil {
		t.Fatalf("tgan %v: %v\n%s", args, err, out)
	}
}

// compareNPY asserts max|got-want| / max|want| <= 1e-4 and equal shapes.
func compareNPY(t *testing.T, wantPath, gotPath string) {
	t.Helper()
	want, ws, err := npy.ReadFloat32(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	got, gs, err := npy.ReadFloat32(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != len(gs) || len(want) != len(got) {
		t.Fatalf("%s: shape %v, want %v", gotPath, gs, ws)
	}
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(float64(got[i])-float64(want[i])))
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	if rel := num / den; !(rel <= 1e-4) {
		t.Errorf("%s: max|err|/max|ref| = %.3g > 1e-4", filepath.Base(wantPath), rel)
	} else {
		t.Logf("%s: max|err|/max|ref| = %.2g", filepath.Base(wantPath), rel)
	}
}
