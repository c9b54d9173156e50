// An external test package: internal/checkpoint/pth imports the trainer, which
// imports engine.
package engine_test

import (
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
)

// TestParityGorgoniaONNXRuntime runs every golden architecture through both
// backends, the Gorgonia forward on the checkpoint and ONNX Runtime (CPU) on
// its export, at batch 1 and 7, G and D: max|a-b|/max|b| <= 1e-4.
func TestParityGorgoniaONNXRuntime(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, name := range []string{"v1_small", "v1_celeba_small", "v1_stl_small", "final_small", "final_mid"} {
		t.Run(name, func(t *testing.T) {
			ck, _, err := pth.Import(filepath.Join("..", "..", "..", "testdata", "golden", name, "official.pth"), pth.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if _, err := exporter.Export(exporter.Source{Config: ck.Config, Gen: ck.Sampler(), Dis: ck.Dis}, dir, exporter.Options{}); err != nil {
				t.Fatal(err)
			}
			nets := []engine.Network{engine.Generator}
			if ck.Dis != nil {
				nets = append(nets, engine.Discriminator)
			}
			for _, n := range nets {
				native, err := engine.FromCheckpoint(ck, n, engine.Options{})
				if err != nil {
					t.Fatal(err)
				}
				file := exporter.GeneratorFile
				if n == engine.Discriminator {
					file = exporter.DiscriminatorFile
				}
				ort, err := engine.Open(filepath.Join(dir, file), n, engine.Options{})
				if err != nil {
					t.Fatal(err)
				}
				for _, batch := range []int{1, 7} {
					in := randomInput(batch*native.InSize(), int64(batch))
					a, err := native.Run(in, batch)
					if err != nil {
						t.Fatal(err)
					}
					b, err := ort.Run(in, batch)
					if err != nil {
						t.Fatal(err)
					}
					if rel := testkit.RelErr(a, b); !(rel <= 1e-4) {
						t.Errorf("%s batch %d: gorgonia vs onnxruntime max rel err %.3g", n, batch, rel)
					}
				}
				ort.Close()
			}
		})
	}
}

func randomInput(n int, seed int64) []float32 {
	rng := rand.New(rand.NewSource(seed))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	return x
}
