package trainer

import (
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/model"
)

// zooStepCases are the model zoo's families at sizes a training step test
// can run on two cores, with the official structure: final_stl
// (ViT_custom_rp G with PixelNorm, noised scale2 D), final_norp (noised
// ViT_custom G, scale2 D without noise), celeba256 (Celeba256_gen:
// bicubic stages, cross-attention, updown, windows; Celeba256_dis with
// Hz_fbank) and church256 (windowed noised G, three-scale D). The 256 G's
// keep the official number of windows per stage at 32x32 (bottom 1,
// windows 1,2,4,2,2,2); g_dim 64 is the least width whose last stage has a
// channel. The church G has no blocks in that one-channel stage: PixelNorm
// over one channel is sign(x) with a derivative of eps/|x|^3, which made
// the float32 G gradients of both codes differ from a float64 run by
// 5e-5..3e-4 (the official 16 channels there are well conditioned).
// testdata/ref/train_step_ref_hires.py holds the same configs.
var zooStepCases = []struct{ name, json string }{
	{"final_stl", `{"version":"final","latent_dim":16,"g_dim":32,"bottom_width":2,"g_depths":[1,1,1],"g_heads":2,"mlp_ratio":4,"image_size":8,"g_rel_pos":true,"g_norm":"pn","d_kind":"scale2","d_dim":16,"d_depth":1,"d_patch":2,"d_heads":2,"d_rel_pos":true,"d_norm":"pn"}`},
	{"final_norp", `{"version":"final","latent_dim":16,"g_dim":32,"bottom_width":2,"g_depths":[1,1,1],"g_heads":2,"mlp_ratio":4,"image_size":8,"g_rel_pos":false,"g_arch":"custom","d_kind":"scale2","d_dim":16,"d_depth":1,"d_patch":2,"d_heads":2,"d_rel_pos":true,"d_no_noise":true}`},
	{"celeba256", `{"version":"final","latent_dim":16,"g_dim":64,"bottom_width":1,"g_depths":[0,1,1,1,1,1],"g_heads":1,"mlp_ratio":4,"image_size":32,"g_rel_pos":false,"g_arch":"celeba256","g_norm":"pn","g_windows":[1,2,4,2,2,2],"d_kind":"celeba256","d_dim":16,"d_depth":3,"d_patch":2,"d_heads":2,"d_rel_pos":false,"d_window":2,"d_filter_bank":true}`},
	{"church256", `{"version":"final","latent_dim":16,"g_dim":64,"bottom_width":1,"g_depths":[1,1,1,1,1,0],"g_heads":1,"mlp_ratio":4,"image_size":32,"g_rel_pos":false,"g_arch":"church256","g_norm":"pn","g_windows":[1,2,4,2,2,2],"d_kind":"scale3","d_dim":16,"d_depth":3,"d_patch":2,"d_heads":2,"d_rel_pos":true,"d_window":2}`},
}

func zooConfig(name string) func(testing.TB) *model.Config {
	return func(tb testing.TB) *model.Config {
		tb.Helper()
		for _, c := range zooStepCases {
			if c.name == name {
				cfg, err := model.ParseJSON(c.json)
				if err != nil {
					tb.Fatal(err)
				}
				return cfg
			}
		}
		tb.Fatalf("no zoo case %s", name)
		return nil
	}
}

// zooPolicy is each family's official DiffAugment policy (SPEC-hires 5.5).
var zooPolicy = map[string]string{
	"final_stl":  "translation,stl_erase_ratio,color",
	"final_norp": "translation,cutout,color",
	"celeba256":  "filter,translation,erase_ratio,color,hue",
	"church256":  "translation,erase_ratio,color",
}

// TestParityORTTapeZoo: one iteration (a D step, then a G step through
// the updated D) of each zoo family, with its
// official augmentation policy and attention noise in G and D, give the
// same stats, gradients and weights on ONNX Runtime as on the tape. The
// noised families' noise strengths get non-zero gradients: G's noise is
// drawn in training.
func TestParityORTTapeZoo(t *testing.T) {
	requireORT(t)
	for _, c := range zooStepCases {
		t.Run(c.name, func(t *testing.T) {
			grads := compareExecutors(t, zooConfig(c.name), zooPolicy[c.name], 1, 1e-5)
			cfg := zooConfig(c.name)(t)
			for net, want := range map[string]bool{"gen": cfg.GNoise(), "dis": cfg.DKind == model.DScale2 && !cfg.DNoNoise} {
				n := 0
				for name, g := range grads[net] {
					if !strings.HasSuffix(name, "noise_strength_1") {
						continue
					}
					n++
					if tensorErr(g, make([]float32, len(g))) == 0 {
						t.Errorf("%s %s: zero gradient (no noise drawn)", net, name)
					}
				}
				if (n > 0) != want {
					t.Errorf("%s: %d noise strengths, noised family %v", net, n, want)
				}
			}
		})
	}
}

// TestParityStepZoo runs one official iteration (D step with WGAN-GP,
// drift, clipping and Adam; G step through the updated D, whose backward
// leaks into D's next step) of each zoo family at batch 2 on the tensors
// of testdata/golden/train_step_hires (made by
// testdata/ref/train_step_ref_hires.py: the reference modules, their own
// attention-noise draws replayed here, augmentation off) and compares
// the losses, norms, clipped gradients and the leak with PyTorch's, and
// D's Adam step. The G step starts from the reference's updated D: Adam's
// first step moves a weight by lr*g/(|g|+1e-8), so float32 rounding of
// near-zero D gradients becomes weight differences of up to lr.
func TestParityStepZoo(t *testing.T) {
	for _, c := range zooStepCases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("..", "testdata", "golden", "train_step_hires", c.name)
			arr, err := npy.ReadNPZ(filepath.Join(dir, "step.npz"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := goldenConfig(t, filepath.Join(dir, "config.json"))
			if want := zooConfig(c.name)(t); cfg.JSON() != want.JSON() {
				t.Fatalf("golden config differs from zooStepCases:\n%s\n%s", cfg.JSON(), want.JSON())
			}
			o := Options{Loss: LossWGANGPEps, DisBatch: 2, GenBatch: 2, NCritic: 1, Augment: "none", Samples: 1, GradLeak: true}
			tr, err := New(cfg, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			loadGolden(t, arr, "g0.", tr.Gen)
			loadGolden(t, arr, "d0.", tr.Dis)
			tr.alpha = arr["alpha"].F32
			used := replayNoise(t, tr, arr)
			grads := recordGrads(tr)
			tr.dSteppedHook = func() { // D's Adam step, then the reference's updated D
				compareUpdated(t, tr.Dis, arr, tr.Opts.LRD)
				loadGolden(t, arr, "d1.", tr.Dis)
			}
			st, err := tr.stepWith(arr["real"].F32, rand.New(rand.NewSource(1)), arr["z"].F32, arr["zg"].F32)
			if err != nil {
				t.Fatal(err)
			}
			for role, n := range used {
				if n != 1 {
					t.Errorf("noise %s replayed %d times, want once", role, n)
				}
			}
			worst := 0.0
			check := func(what string, e float64) {
				worst = math.Max(worst, e)
				if !(e <= 1e-4) {
					t.Errorf("%s: relative error %.3g (limit 1e-4)", what, e)
				}
			}
			want := arr["scalars"].F64
			for i, got := range []float64{st.DLoss, st.GP, st.GLoss, st.DGradNorm, st.GGradNorm, st.DReal, st.DFake} {
				name := []string{"d_loss", "gp", "g_loss", "|grad D|", "|grad G|", "d_real", "d_fake"}[i]
				check(name, math.Abs(got-want[i])/math.Max(1e-3, math.Abs(want[i])))
			}
			if len(grads["dis"]) != 1 || len(grads["gen"]) != 1 {
				t.Fatalf("%d D and %d G steps, want 1 each", len(grads["dis"]), len(grads["gen"]))
			}
			for _, g := range []struct {
				what, prefix string
				got          map[string][]float32
			}{{"D grad", "dgrad.", grads["dis"][0]}, {"G grad", "ggrad.", grads["gen"][0]}, {"leak", "leak.", tr.accD}} {
				compareGrads(t, g.what, g.got, arr, g.prefix, check)
			}
			t.Logf("worst relative error %.3g over losses, norms, gradients and leak", worst)
		})
	}
}

// goldenConfig reads a golden's config.json (tgan's Config fields plus
// the reference's noise_shapes, dropped here).
func goldenConfig(t *testing.T, path string) *model.Config {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "noise_shapes")
	js, _ := json.Marshal(m)
	cfg, err := model.ParseJSON(string(js))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// loadGolden copies the golden's prefix+name tensors into w; every tensor
// of w must be there.
func loadGolden(t *testing.T, arr map[string]*npy.Array, prefix string, w model.Weights) {
	t.Helper()
	for name, dst := range w {
		a := arr[prefix+name]
		if a == nil {
			t.Fatalf("golden lacks %s%s", prefix, name)
		}
		if len(a.F32) != len(dst.F32) || len(a.I64) != len(dst.I64) {
			t.Fatalf("golden %s%s has %d values, tgan %d", prefix, name, len(a.F32)+len(a.I64), len(dst.F32)+len(dst.I64))
		}
		copy(dst.F32, a.F32)
		copy(dst.I64, a.I64)
	}
}

// replayNoise makes the trainer's nets take the reference's attention
// noise: per role, the recorded draws of the matching official forward
// (window order, converted to tgan's image-token order); the D step's
// net holds the real samples, then the fakes, which the reference scored
// in two calls. It returns the replay count per role.
func replayNoise(t *testing.T, tr *Trainer, arr map[string]*npy.Array) map[string]int {
	used := map[string]int{}
	official := func(n *gmodel.Net, key string, batch int) [][]float32 {
		sites := n.NoiseSites()
		a := arr["noise."+key]
		if a == nil {
			t.Fatalf("golden lacks noise.%s", key)
		}
		d, err := gmodel.OfficialNoise(sites, batch, a.F32)
		if err != nil {
			t.Fatalf("noise %s: %v", key, err)
		}
		per := make([][]float32, len(sites)) // per site, [batch, Tokens]
		off := 0
		for i, s := range sites {
			per[i] = d[off : off+batch*s.Tokens]
			off += batch * s.Tokens
		}
		return per
	}
	keys := map[string][]string{"g/fake": {"g_fake"}, "dis": {"d_real", "d_fake"}, "pen": {"d_pen"}, "g/gen": {"g_gen"}, "gen": {"d_gen"}}
	tr.noiseHook = func(role string, n *gmodel.Net) {
		used[role]++
		ks := keys[role]
		parts := make([][][]float32, len(ks))
		for i, k := range ks {
			parts[i] = official(n, k, n.Batch/len(ks))
		}
		var all []float32
		for s := range n.NoiseSites() {
			for _, p := range parts {
				all = append(all, p[s]...)
			}
		}
		if err := n.SetNoiseDraws(all); err != nil {
			t.Fatalf("noise %s: %v", role, err)
		}
	}
	return used
}

// compareGrads checks got against the golden's prefix+name gradients:
// each tensor's max error relative to its own largest value, or to 1e-2
// of the net's largest gradient when that is larger (sums of many terms
// of both signs carry errors of the terms' size). Parameters the
// reference leaves without a gradient must have zero gradients here.
func compareGrads(t *testing.T, what string, got map[string][]float32, arr map[string]*npy.Array, prefix string, check func(string, float64)) {
	t.Helper()
	if len(got) == 0 {
		t.Fatalf("%s: no gradients", what)
	}
	floor, n := 0.0, 0
	for k, a := range arr {
		if strings.HasPrefix(k, prefix) {
			floor = math.Max(floor, 1e-2*maxAbs(a.F32))
			n++
			if got[strings.TrimPrefix(k, prefix)] == nil {
				t.Errorf("%s %s: tgan has no gradient", what, strings.TrimPrefix(k, prefix))
			}
		}
	}
	for name, g := range got {
		ref := arr[prefix+name]
		if ref == nil {
			if maxAbs(g) != 0 {
				t.Errorf("%s %s: %.3g, the reference has no gradient", what, name, maxAbs(g))
			}
			continue
		}
		if e := tensorErr(g, ref.F32); e > 0 {
			check(what+" "+name, e*maxAbs(ref.F32)/math.Max(maxAbs(ref.F32), floor))
		}
	}
}

// compareUpdated checks D's weights after its Adam step against the
// golden's d1.*: within 2e-6 where the reference's gradient is clearly
// non-zero (elsewhere Adam's first step amplifies rounding), and within lr
// everywhere.
func compareUpdated(t *testing.T, w model.Weights, arr map[string]*npy.Array, lr float64) {
	t.Helper()
	for name, p := range w {
		ref, g := arr["d1."+name], arr["dgrad."+name]
		if ref == nil {
			t.Fatalf("golden lacks d1.%s", name)
		}
		for i, v := range p.F32 {
			d := math.Abs(float64(v - ref.F32[i]))
			small := g == nil || math.Abs(float64(g.F32[i])) < 1e-6
			if (!small && d > 2e-6) || d > lr*1.01 {
				t.Errorf("updated D %s[%d] = %.7f, reference %.7f", name, i, v, ref.F32[i])
				break
			}
		}
	}
}

// TestResumeExactZoo: a noised G family (celeba256, its official policy,
// D and G accumulation, the leak) run 5 iterations straight equals 2, a
// checkpoint file, Resume and 3 more, bit for bit; the sample grids (their
// attention noise from a fixed seed) are bitwise equal too, and the same
// at every call.
func TestResumeExactZoo(t *testing.T) {
	cfg := zooConfig("celeba256")(t)
	o := Options{DisBatch: 2, GenBatch: 2, NCritic: 1, Accumulate: 2, GAccumulate: 2, GradLeak: true, DriftGroup: 2,
		Augment: zooPolicy["celeba256"], Samples: 2, Seed: 9}
	start := func() *Trainer {
		tr, err := New(cfg, o, newSynth(8, cfg.ImageSize))
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	steps := func(tr *Trainer, n int) {
		for i := 0; i < n; i++ {
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := start()
	steps(a, 5)
	b := start()
	steps(b, 2)
	path := filepath.Join(t.TempDir(), "mid.safetensors")
	if err := checkpoint.Save(path, b.Checkpoint()); err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := Resume(ck, newSynth(8, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	steps(b2, 3)
	ca, cb := a.Checkpoint(), b2.Checkpoint()
	for _, p := range []struct {
		name string
		x, y model.Weights
	}{{"gen", ca.Gen, cb.Gen}, {"avg_gen", ca.AvgGen, cb.AvgGen}, {"dis", ca.Dis, cb.Dis}, {"extra", ca.Extra, cb.Extra}} {
		if d, at := maxDiff(p.x, p.y); d != 0 || len(p.x) != len(p.y) {
			t.Errorf("%s differs by %g (%s), %d and %d tensors", p.name, d, at, len(p.x), len(p.y))
		}
	}
	if ca.Meta[MetaState] != cb.Meta[MetaState] {
		t.Errorf("trainer state differs:\n%s\n%s", ca.Meta[MetaState], cb.Meta[MetaState])
	}
	sa, err := a.Samples()
	if err != nil {
		t.Fatal(err)
	}
	sa2, _ := a.Samples()
	sb, err := b2.Samples()
	if err != nil {
		t.Fatal(err)
	}
	if tensorErr(sa2, sa) != 0 || tensorErr(sb, sa) != 0 {
		t.Errorf("sample grids differ: again %g, resumed %g", tensorErr(sa2, sa), tensorErr(sb, sa))
	}
}

// TestParityORTSamplesZoo: a noised G family's sample grids through ONNX
// Runtime equal the tape's (the same seeded attention noise), and the
// noise matters: zero noise gives other images.
func TestParityORTSamplesZoo(t *testing.T) {
	requireORT(t)
	var imgs [2][]float32
	var tape *Trainer
	for i := range imgs {
		o := microOptions()
		o.Samples = 10 // two chunks, the second partial
		tr, err := New(zooConfig("church256")(t), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tr.AvgGen { // non-zero noise strengths
			if len(p.F32) == 1 {
				p.F32[0] = 0.5
			}
		}
		if i == 1 {
			ortOn(t, tr)
		} else {
			tape = tr
		}
		if imgs[i], err = tr.Samples(); err != nil {
			t.Fatal(err)
		}
	}
	if e := tensorErr(imgs[1], imgs[0]); len(imgs[1]) != len(imgs[0]) || e > 1e-5 {
		t.Errorf("samples: %d values, relative error %.2g", len(imgs[1]), e)
	}
	tape.sampler.net.SetNoise(nil)
	z := make([]float32, tape.sampler.net.Batch*tape.Config.LatentDim)
	copy(z, tape.FixedZ)
	quiet, err := tape.sampler.net.Forward(z)
	if err != nil {
		t.Fatal(err)
	}
	if e := tensorErr(quiet[:len(z)/tape.Config.LatentDim*3*32*32], imgs[0][:len(z)/tape.Config.LatentDim*3*32*32]); e < 1e-3 {
		t.Errorf("zero attention noise changes the samples by %.2g only", e)
	}
}
