package main

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputFromOutside runs the real binary on bad inputs and checks the
// contract: non-zero exit, one line on stderr naming the file or problem,
// never a panic or a Go stack trace.
func TestBadInputFromOutside(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "tgan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	random := filepath.Join(tmp, "random.bin")
	noise := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(noise)
	os.WriteFile(random, noise, 0o644)
	pth, _ := os.ReadFile("../../testdata/golden/v1_small/official.pth")
	truncated := filepath.Join(tmp, "truncated.pth")
	os.WriteFile(truncated, pth[:len(pth)/2], 0o644)
	ckpt := filepath.Join(tmp, "final.safetensors")
	if out, err := exec.Command(bin, "import", "--out", ckpt, "../../testdata/golden/final_small/official.pth").CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	wrongZ := filepath.Join(tmp, "z.npy") // v1_small latents (32) for a model of latent 32, wrong count below
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"random checkpoint", []string{"infer", random}, "random.bin"},
		{"random onnx", []string{"infer", "--provider", "cpu", random + ".onnx"}, "random.bin.onnx"},
		{"random pth", []string{"import", "--out", filepath.Join(tmp, "x.safetensors"), random}, "random.bin"},
		{"truncated pth", []string{"import", "--out", filepath.Join(tmp, "y.safetensors"), truncated}, "truncated.pth"},
		{"missing file", []string{"infer", filepath.Join(tmp, "nope.safetensors")}, "nope.safetensors"},
		{"wrong latents", []string{"infer", "--z", "../../testdata/golden/v1_stl_small/z.npy", ckpt}, "z.npy"},
		{"missing npy", []string{"infer", "--z", wrongZ, ckpt}, "z.npy"},
		{"images of another size", []string{"score", "--images", "../../testdata/golden/final_mid/images.npy", ckpt}, "images.npy"},
		{"unknown preset", []string{"bench", "--preset", "huge"}, "unknown preset"},
		{"cuda without a GPU", []string{"bench", "--preset", "tiny", "--provider", "cuda", "--batches", "1"}, "cuda"},
		{"not yet built", []string{"eval"}, "not implemented yet"},
		{"serve without a model", []string{"serve"}, "MODEL"},
	}
	os.WriteFile(random+".onnx", noise, 0o644)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, c.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := stderr.String()
			if err == nil {
				t.Fatalf("exit 0, want an error; stderr:\n%s", msg)
			}
			last := strings.TrimSpace(msg[strings.LastIndex(strings.TrimRight(msg, "\n"), "\n")+1:])
			if !strings.HasPrefix(last, "tgan: ") || !strings.Contains(last, c.want) {
				t.Errorf("last stderr line %q: want \"tgan: ...%s...\"", last, c.want)
			}
			if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
				t.Errorf("stack trace in stderr:\n%s", msg)
			}
		})
	}
}
