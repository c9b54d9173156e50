package trainer

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/model"
)

// TestParityStepPyTorch runs one iteration (D step with WGAN-GP and
// drift, clipping, Adam; then a G step against the updated D) on the fixed
// tensors of testdata/golden/train_step (made by
// testdata/ref/train_step_ref.py) and compares losses, clipped gradients
// and updated weights with PyTorch's.
func TestParityStepPyTorch(t *testing.T) {
	dir := filepath.Join("..", "testdata", "golden", "train_step")
	arr, err := npy.ReadNPZ(filepath.Join(dir, "step.npz"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := model.ParseJSON(strings.Replace(string(raw), `"d_heads": 4`, `"d_heads": 4, "mask_schedule": [{"until_epoch": 22, "window": 4}]`, 1))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(cfg, Options{Loss: LossWGANGPEps, DisBatch: 2, GenBatch: 3, NCritic: 1, Augment: "none", Samples: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	weights := func(prefix string, w model.Weights) {
		for name, dst := range w {
			a := arr[prefix+name]
			if a == nil {
				t.Fatalf("golden lacks %s%s", prefix, name)
			}
			copy(dst.F32, a.F32)
			copy(dst.I64, a.I64)
		}
	}
	weights("g0.", tr.Gen)
	weights("d0.", tr.Dis)
	tr.alpha = arr["alpha"].F32
	grads := map[string]map[string][]float32{}
	tr.gradsHook = func(net string, g map[string][]float32) {
		grads[net] = map[string][]float32{}
		for k, v := range g {
			grads[net][k] = append([]float32(nil), v...)
		}
	}
	st, err := tr.stepWith(arr["real"].F32, rand.New(rand.NewSource(1)), arr["z"].F32, arr["zg"].F32)
	if err != nil {
		t.Fatal(err)
	}
	want := arr["scalars"].F64
	for i, got := range []float64{st.DLoss, st.GP, st.GLoss, st.DGradNorm, st.GGradNorm} {
		name := []string{"d_loss", "gp", "g_loss", "|grad D|", "|grad G|"}[i]
		if math.Abs(got-want[i]) > 1e-4*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s = %.6f, PyTorch %.6f", name, got, want[i])
		}
	}
	for _, c := range []struct{ net, prefix, after string }{{"dis", "dgrad.", "d1."}, {"gen", "ggrad.", "g1."}} {
		for name, g := range grads[c.net] {
			ref := arr[c.prefix+name]
			if ref == nil {
				t.Errorf("%s %s: gradient not in the golden", c.net, name)
				continue
			}
			scale := 0.0
			for _, v := range ref.F32 {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for i, v := range g {
				if math.Abs(float64(v-ref.F32[i])) > 1e-3*math.Max(scale, 1e-3) {
					t.Errorf("%s grad %s[%d] = %g, PyTorch %g", c.net, name, i, v, ref.F32[i])
					break
				}
			}
		}
		if len(grads[c.net]) == 0 {
			t.Fatalf("no %s gradients", c.net)
		}
	}
	// Updated weights: Adam's first step moves each weight by about lr *
	// sign(grad), so compare where the gradient is clearly non-zero.
	for _, c := range []struct {
		w              model.Weights
		prefix, gradPf string
	}{{tr.Dis, "d1.", "dgrad."}, {tr.Gen, "g1.", "ggrad."}} {
		for name, w := range c.w {
			ref, g := arr[c.prefix+name], arr[c.gradPf+name]
			for i, v := range w.F32 {
				if g != nil && math.Abs(float64(g.F32[i])) < 1e-6 {
					continue
				}
				if math.Abs(float64(v-ref.F32[i])) > 2e-6 {
					t.Errorf("updated %s%s[%d] = %.7f, PyTorch %.7f", c.prefix, name, i, v, ref.F32[i])
					break
				}
			}
		}
	}
}
