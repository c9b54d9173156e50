package exporter

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// smallConfigs are the golden-file architectures (testdata/golden/*/case.json)
// plus the tiny preset: every code path at a size that runs in milliseconds.
func smallConfigs(t *testing.T) map[string]*model.Config {
	t.Helper()
	tiny, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	v1 := func(latent, gdim, bottom int, depths []int, ddim, ddepth, patch int) *model.Config {
		c := tiny.Clone()
		c.LatentDim, c.GDim, c.BottomWidth, c.GDepths = latent, gdim, bottom, depths
		c.ImageSize = bottom << (len(depths) - 1)
		c.DDim, c.DDepth, c.DPatch = ddim, ddepth, patch
		return c
	}
	final := func(latent, gdim, bottom int, depths []int, ddim, ddepth int) *model.Config {
		c, _ := model.Preset("final-cifar")
		c.LatentDim, c.GDim, c.BottomWidth, c.GDepths = latent, gdim, bottom, depths
		c.ImageSize = bottom << (len(depths) - 1)
		c.DDim, c.DDepth = ddim, ddepth
		return c
	}
	return map[string]*model.Config{
		"tiny":            tiny,
		"v1_small":        v1(32, 64, 4, []int{2, 1, 1}, 64, 2, 4),
		"v1_celeba_small": v1(16, 256, 2, []int{1, 1, 1, 1}, 32, 1, 2),
		"v1_stl_small":    v1(24, 128, 3, []int{1, 1, 1}, 32, 1, 3),
		"final_small":     final(32, 64, 4, []int{2, 1, 1}, 64, 2),
		"final_mid":       final(64, 128, 8, []int{1, 1, 1}, 96, 1),
	}
}

// TestRandomWeightsRun exports G and D with random weights and runs them in
// ONNX Runtime at batch 1 and 3: shapes, finite values, and batch
// independence (an item's output does not depend on its batch mates).
func TestRandomWeightsRun(t *testing.T) {
	env := openEnv(t, 1)
	for name, cfg := range smallConfigs(t) {
		t.Run(name, func(t *testing.T) {
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			gw, dw := randomNets(cfg, 1)
			gm, err := Generator(cfg, gw, nil)
			if err != nil {
				t.Fatal(err)
			}
			dm, err := Discriminator(cfg, dw, nil)
			if err != nil {
				t.Fatal(err)
			}
			L, S := int64(cfg.LatentDim), int64(cfg.ImageSize)
			z := randn(3*int(L), 2)
			img, shape := runFile(t, env, gm, "g.onnx", z, []int64{3, L})
			if !equalShape(shape, 3, 3, S, S) || !allFinite(img) {
				t.Fatalf("G: shape %v (want [3 3 %d %d]), finite %v", shape, S, S, allFinite(img))
			}
			one, _ := runFile(t, env, gm, "g.onnx", z[L:2*L], []int64{1, L})
			per := 3 * S * S
			if e := testkit.RelErr(one, img[per:2*per]); e > 1e-5 {
				t.Errorf("G item 1 alone vs in a batch of 3: rel err %.3g", e)
			}
			logit, shape := runFile(t, env, dm, "d.onnx", img, []int64{3, 3, S, S})
			if !equalShape(shape, 3, 1) || !allFinite(logit) {
				t.Fatalf("D: shape %v (want [3 1]), values %v", shape, logit)
			}
			one, _ = runFile(t, env, dm, "d.onnx", img[2*per:], []int64{1, 3, S, S})
			if e := testkit.RelErr(one, logit[2:]); e > 1e-5 {
				t.Errorf("D item 2 alone vs in a batch of 3: rel err %.3g", e)
			}
		})
	}
}

// TestOfficialNames checks that the initializers are exactly the official
// tensors the graphs use (every trained float tensor of GParams/DParams and
// the relative-position index buffers) plus the graph's own constants.
func TestOfficialNames(t *testing.T) {
	for name, cfg := range smallConfigs(t) {
		t.Run(name, func(t *testing.T) {
			gw, dw := randomNets(cfg, 1)
			gm, err := Generator(cfg, gw, nil)
			if err != nil {
				t.Fatal(err)
			}
			dm, err := Discriminator(cfg, dw, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkNames(t, gm.Graph, cfg.GParams())
			checkNames(t, dm.Graph, cfg.DParams())
		})
	}
}

func checkNames(t *testing.T, g *onnx.Graph, params []model.Param) {
	t.Helper()
	have := map[string]bool{}
	for _, n := range g.Initializers() {
		have[n] = true
	}
	official := map[string]bool{}
	for _, p := range params {
		official[p.Name] = true
		unused := strings.HasPrefix(p.Name, "to_rgb.") || strings.HasSuffix(p.Name, "noise_strength_1")
		if !unused && !have[p.Name] {
			t.Errorf("official tensor %q is not an initializer", p.Name)
		}
		if unused && have[p.Name] {
			t.Errorf("unused tensor %q is an initializer", p.Name)
		}
	}
	for n := range have {
		if !official[n] && !strings.HasPrefix(n, "const.") {
			t.Errorf("initializer %q is neither official nor a const.*", n)
		}
	}
}

// TestExportFiles runs Export end to end: files, metadata, Triton config,
// and that two exports of the same weights are byte-identical.
func TestExportFiles(t *testing.T) {
	cfg := smallConfigs(t)["final_small"]
	gw, dw := randomNets(cfg, 3)
	dir, repo := t.TempDir(), t.TempDir()
	opts := Options{Version: "9.9.9", TritonRepo: repo, TritonMaxBatch: 16}
	files, err := Export(Source{Config: cfg, Gen: gw, Dis: dw}, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("wrote %v, want 4 files", files)
	}
	mp, err := onnx.ReadFile(filepath.Join(dir, GeneratorFile))
	if err != nil {
		t.Fatal(err)
	}
	md := onnx.Metadata(mp)
	want := map[string]string{
		KeyVersion: "9.9.9", KeyConfig: cfg.JSON(), KeyLatentDim: "32", KeyImageSize: "16",
		KeyValueRange: ValueRange, KeyNetwork: GeneratorNetwork, KeyWeights: "avg_gen",
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("generator metadata %s = %q, want %q", k, md[k], v)
		}
	}
	if back, err := model.ParseJSON(md[KeyConfig]); err != nil || back.JSON() != cfg.JSON() {
		t.Errorf("tgan.config does not round-trip: %v", err)
	}
	if mp.GetOpsetImport()[0].GetVersion() != 17 || mp.GetIrVersion() != 8 || mp.GetProducerName() != "tgan" {
		t.Errorf("opset %v, IR %d, producer %q", mp.GetOpsetImport(), mp.GetIrVersion(), mp.GetProducerName())
	}
	dp, err := onnx.ReadFile(filepath.Join(dir, DiscriminatorFile))
	if err != nil {
		t.Fatal(err)
	}
	if md := onnx.Metadata(dp); md[KeyNetwork] != DiscriminatorNetwork || md[KeyDNoise] != "omitted" || md[KeyWeights] != "" {
		t.Errorf("discriminator metadata %v", md)
	}
	g1, _ := os.ReadFile(filepath.Join(dir, GeneratorFile))
	g2, _ := os.ReadFile(filepath.Join(repo, TritonModel, "1", "model.onnx"))
	if string(g1) != string(g2) {
		t.Error("Triton model.onnx differs from generator.onnx")
	}
	pbtxt, _ := os.ReadFile(filepath.Join(repo, TritonModel, "config.pbtxt"))
	for _, s := range []string{`platform: "onnxruntime_onnx"`, `backend: "onnxruntime"`, "max_batch_size: 16",
		"dims: [ 32 ]", "dims: [ 3, 16, 16 ]", `name: "z"`, `name: "image"`, "dynamic_batching"} {
		if !strings.Contains(string(pbtxt), s) {
			t.Errorf("config.pbtxt lacks %q:\n%s", s, pbtxt)
		}
	}
	dir2 := t.TempDir()
	if _, err := Export(Source{Config: cfg, Gen: gw}, dir2, Options{Version: "9.9.9"}); err != nil {
		t.Fatal(err)
	}
	if g3, _ := os.ReadFile(filepath.Join(dir2, GeneratorFile)); string(g3) != string(g1) {
		t.Error("two exports of the same weights differ")
	}
	if _, err := os.Stat(filepath.Join(dir2, DiscriminatorFile)); !os.IsNotExist(err) {
		t.Error("discriminator.onnx written without D weights")
	}
}

// TestBadWeights: a missing or misshapen tensor is an error naming it.
func TestBadWeights(t *testing.T) {
	cfg := smallConfigs(t)["v1_small"]
	gw, dw := randomNets(cfg, 1)
	delete(gw, "blocks.0.attn.qkv.weight")
	if _, err := Generator(cfg, gw, nil); err == nil || !strings.Contains(err.Error(), "blocks.0.attn.qkv.weight") {
		t.Errorf("missing tensor: err = %v", err)
	}
	dw[model.DHeadW].Shape = []int{cfg.DDim}
	if _, err := Discriminator(cfg, dw, nil); err == nil || !strings.Contains(err.Error(), model.DHeadW) {
		t.Errorf("bad shape: err = %v", err)
	}
}
