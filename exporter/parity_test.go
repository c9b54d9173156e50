package exporter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// zooGoldens are the golden cases of the zoo's newer families, made by the
// independent PyTorch reference testdata/ref/make_golden_hires.py with
// non-zero noise strengths and the attention-noise draws saved.
var zooGoldens = []string{"final_stl_small", "final_norp_small", "celeba256_small", "church256_small"}

// TestParityZoo imports each official checkpoint, exports G and D, feeds
// the golden noise (converted from the official window order to tgan's
// image-token order) and compares with PyTorch's outputs, for the standard
// file as written and for the fused form that tgan's runtime makes of it
// (one MultiHeadAttention per block, windows folded into the batch).
func TestParityZoo(t *testing.T) {
	for _, form := range []struct{ name, fuse string }{{"standard", "off"}, {"fused", "on"}} {
		t.Run(form.name, func(t *testing.T) {
			t.Setenv(runtime.FuseEnv, form.fuse)
			parityZoo(t, openEnv(t, 0))
		})
	}
}

// CUDAEnv names the environment variable that turns on
// TestParityZooCUDA (a machine with a GPU and ONNX Runtime's CUDA build).
const CUDAEnv = "TGAN_TEST_CUDA"

// TestParityZooCUDA is TestParityZoo on ONNX Runtime's CUDA provider
// (float32 without TF32): its Resize, window attention and the fused CUDA
// form (MultiHeadAttention with padded heads, cross-attention).
func TestParityZooCUDA(t *testing.T) {
	if os.Getenv(CUDAEnv) == "" {
		t.Skipf("%s not set", CUDAEnv)
	}
	for _, form := range []struct{ name, fuse string }{{"standard", "off"}, {"fused", "on"}} {
		t.Run(form.name, func(t *testing.T) {
			t.Setenv(runtime.FuseEnv, form.fuse)
			env, err := runtime.Open(runtime.Options{Provider: runtime.CUDA})
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			parityZoo(t, env)
		})
	}
}

func parityZoo(t *testing.T, env *runtime.Env) {
	for _, name := range zooGoldens {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, name)
			if !fileExists(filepath.Join(dir, "official.pth")) {
				t.Skipf("no golden %s yet", dir)
			}
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
			batch := zShape[0]
			want, _ := readNpy(t, dir, "g.npy")
			var got []float32
			if GeneratorNoise(cfg) > 0 {
				raw, _ := readNpy(t, dir, "g_noise.npy")
				noise := goldenGNoise(t, cfg, raw, batch)
				got, _ = runNoiseFile(t, env, gm, "g.onnx", z, int64s(zShape), noise)
			} else {
				got, _ = runFile(t, env, gm, "g.onnx", z, int64s(zShape))
			}
			checkGolden(t, "G", got, want)

			img, imgShape := readNpy(t, dir, "images.npy")
			want, _ = readNpy(t, dir, "d.npy")
			if n := DiscriminatorNoiseSize(cfg); n > 0 {
				dm, err := DiscriminatorNoise(cfg, ck.Dis, nil)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := readNpy(t, dir, "d_noise.npy")
				got, _ = runNoiseFile(t, env, dm, "d.onnx", img, int64s(imgShape), goldenDNoise(t, cfg, raw, batch))
			} else {
				dm, err := Discriminator(cfg, ck.Dis, nil)
				if err != nil {
					t.Fatal(err)
				}
				got, _ = runFile(t, env, dm, "d.onnx", img, int64s(imgShape))
			}
			checkGolden(t, "D", got, want)
		})
	}
}

func checkGolden(t *testing.T, what string, got, want []float32) {
	t.Helper()
	e := testkit.RelErr(got, want)
	t.Logf("%s max rel err %.3g", what, e)
	if e > goldenTol {
		t.Errorf("%s: max rel err %.3g > %.0g", what, e, goldenTol)
	}
}

// goldenGNoise converts the official generator draws (every attention's
// [B*nW, w*w, 1] in window order, concatenated in forward order) to the
// "noise" input [B, T]: per item, each attention's N draws in image-token
// order (the window-reverse permutation of SPEC-hires 0.3).
func goldenGNoise(tb testing.TB, cfg *model.Config, raw []float32, batch int) []float32 {
	tb.Helper()
	T := GeneratorNoise(cfg)
	if len(raw) != batch*T {
		tb.Fatalf("g_noise.npy has %d values, want batch %d x %d", len(raw), batch, T)
	}
	out := make([]float32, batch*T)
	src, off := 0, 0
	for s, stage := range cfg.GBlocks() {
		side, w := cfg.StageWidth(s), cfg.GPartition(s)
		k := side / w
		for range stage {
			for b := 0; b < batch; b++ {
				for y := 0; y < side; y++ {
					for x := 0; x < side; x++ {
						win := (b*k+y/w)*k + x/w
						out[b*T+off+y*side+x] = raw[src+win*w*w+(y%w)*w+x%w]
					}
				}
			}
			src += batch * side * side
			off += side * side
		}
	}
	return out
}

// goldenDNoise converts the official two-scale D draws ([B, N, 1] per
// attention, all global) to DiscriminatorNoise's input [B, T].
func goldenDNoise(tb testing.TB, cfg *model.Config, raw []float32, batch int) []float32 {
	tb.Helper()
	T := DiscriminatorNoiseSize(cfg)
	if len(raw) != batch*T {
		tb.Fatalf("d_noise.npy has %d values, want batch %d x %d", len(raw), batch, T)
	}
	n1, n2 := cfg.DTokens(), cfg.DScale2Side()*cfg.DScale2Side()
	var sizes []int
	for i := 0; i < cfg.DDepth; i++ {
		sizes = append(sizes, n1)
	}
	for i := 0; i < cfg.DDepth; i++ {
		sizes = append(sizes, n2)
	}
	sizes = append(sizes, n2+1)
	out := make([]float32, batch*T)
	src, off := 0, 0
	for _, n := range sizes {
		for b := 0; b < batch; b++ {
			copy(out[b*T+off:b*T+off+n], raw[src+b*n:src+(b+1)*n])
		}
		src += batch * n
		off += n
	}
	return out
}
