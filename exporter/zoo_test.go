package exporter

import (
	"maps"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/runtime"
)

// zooConfigs are the small golden cases of the zoo's newer families
// (testdata/golden/{final_stl_small,final_norp_small,celeba256_small,
// church256_small}/case.json): every new code path at a size that runs in
// well under a second.
func zooConfigs(t testing.TB) map[string]*model.Config {
	t.Helper()
	preset := func(name string) *model.Config {
		c, err := model.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	stl := preset("final-stl")
	stl.LatentDim, stl.GDim, stl.BottomWidth, stl.GDepths, stl.ImageSize = 16, 64, 3, []int{1, 1, 1}, 12
	stl.DDim, stl.DDepth, stl.DPatch = 32, 1, 2
	norp := preset("final-cifar-norp")
	norp.LatentDim, norp.GDim, norp.BottomWidth, norp.GDepths, norp.ImageSize = 16, 64, 2, []int{1, 1, 1}, 8
	norp.DDim, norp.DDepth, norp.DPatch = 32, 1, 2
	hires := func(name string, depth0, ddim, patch int) *model.Config {
		c := preset(name)
		c.LatentDim, c.GDim, c.BottomWidth, c.GHeads, c.ImageSize = 16, 128, 2, 2, 64
		c.GDepths, c.GWindows = []int{depth0, 1, 1, 1, 1, 1}, []int{2, 4, 8, 4, 4, 4}
		c.DDim, c.DDepth, c.DPatch, c.DWindow = ddim, 3, patch, 4
		return c
	}
	return map[string]*model.Config{
		"final_stl_small":  stl,
		"final_norp_small": norp,
		"celeba256_small":  hires("celeba-hq-256", 0, 32, 2),
		"church256_small":  hires("church-256", 1, 64, 4),
	}
}

// noisyNets are random weights with every noise strength and bias non-zero
// (InitWeights leaves them 0, which would hide a misplaced noise or bias).
func noisyNets(cfg *model.Config, seed int64) (g, d model.Weights) {
	g, d = randomNets(cfg, seed)
	rng := rand.New(rand.NewSource(seed + 1))
	for _, w := range []model.Weights{g, d} {
		// Sorted: a map's order would give every process other weights.
		for _, name := range slices.Sorted(maps.Keys(w)) {
			t := w[name]
			if strings.HasSuffix(name, "noise_strength_1") || strings.HasSuffix(name, ".bias") ||
				strings.Contains(name, "pos_embed") {
				for i := range t.F32 {
					t.F32[i] = float32(0.3 * rng.NormFloat64())
				}
			}
		}
	}
	return g, d
}

// runNoiseFile is runFile for a network with a noise input.
func runNoiseFile(tb testing.TB, env *runtime.Env, m *onnx.Model, name string, input []float32, shape []int64, noise []float32) ([]float32, []int64) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	writeModel(tb, m, path)
	rm, err := env.OpenModel(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer rm.Close()
	out, outShape, err := rm.RunNoise(input, shape, noise)
	if err != nil {
		tb.Fatal(err)
	}
	return out, outShape
}

// zooNet is one exported network of a zoo config with an input and, for a
// network with a noise input, the noise.
type zooNet struct {
	name         string
	model        *onnx.Model
	input, noise []float32
	shape        []int64
}

// zooNets exports G (noise input when the family has one) and D (with its
// noise input for the noisy two-scale D) of cfg with noisy random weights,
// with inputs for batch 3.
func zooNets(t *testing.T, cfg *model.Config) []zooNet {
	t.Helper()
	gw, dw := noisyNets(cfg, 7)
	g, err := Generator(cfg, gw, nil)
	if err != nil {
		t.Fatal(err)
	}
	L, S := cfg.LatentDim, int64(cfg.ImageSize)
	nets := []zooNet{{"G", g, randn(3*L, 8), nil, []int64{3, int64(L)}}}
	if T := GeneratorNoise(cfg); T > 0 {
		nets[0].noise = randn(3*T, 9)
	}
	d, err := Discriminator(cfg, dw, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := randn(3*3*int(S*S), 10)
	nets = append(nets, zooNet{"D", d, img, nil, []int64{3, 3, S, S}})
	if T := DiscriminatorNoiseSize(cfg); T > 0 {
		dn, err := DiscriminatorNoise(cfg, dw, nil)
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, zooNet{"D+noise", dn, img, randn(3*T, 11), []int64{3, 3, S, S}})
	}
	return nets
}

// runBytes runs an encoded model (standard, or fused and marked so) on
// the net's input.
func runBytes(t *testing.T, env *runtime.Env, data []byte, net zooNet) []float32 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := atomicfile.WriteBytes(path, data); err != nil {
		t.Fatal(err)
	}
	m, err := env.OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out []float32
	if net.noise != nil {
		out, _, err = m.RunNoise(net.input, net.shape, net.noise)
	} else {
		out, _, err = m.Run(net.input, net.shape)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !allFinite(out) {
		t.Fatalf("%s: non-finite output", net.name)
	}
	return out
}

// TestZooOfficialNames: the initializers of every zoo network are exactly
// the official tensors its graph reads, under their official names (the
// generator's noise strengths included; the dead cross-attention
// strengths, Hz_fbank and the omitted D noise strengths not), plus the
// graph's own const.* values.
func TestZooOfficialNames(t *testing.T) {
	for name, cfg := range zooConfigs(t) {
		for _, net := range zooNets(t, cfg) {
			params := cfg.GParams()
			if net.name != "G" {
				params = cfg.DParams()
			}
			want := map[string]bool{}
			for _, p := range params {
				omitted := p.Dead || p.Name == model.DFilterBankName ||
					(net.name == "D" && strings.HasSuffix(p.Name, "noise_strength_1"))
				if !omitted {
					want[p.Name] = true
				}
			}
			have := map[string]bool{}
			for _, n := range net.model.Graph.Initializers() {
				have[n] = true
				if !want[n] && !strings.HasPrefix(n, "const.") {
					t.Errorf("%s/%s: initializer %q is neither a tensor the graph needs nor a const.*", name, net.name, n)
				}
			}
			for n := range want {
				if !have[n] {
					t.Errorf("%s/%s: official tensor %q is not an initializer", name, net.name, n)
				}
			}
		}
	}
}

// TestZooMetadata: KeyGNoise gives T on generators with a noise input;
// KeyDNoise says "omitted" for the noisy two-scale D exported without its
// noise, "input" for DiscriminatorNoise, and is absent for D's without noise.
func TestZooMetadata(t *testing.T) {
	want := map[string][3]string{ // G noise, D noise, D+noise noise
		"final_stl_small":  {"", "omitted", "input"},
		"final_norp_small": {"84", "", ""},
		"celeba256_small":  {"5456", "", ""},
		"church256_small":  {"5460", "", ""},
	}
	for name, cfg := range zooConfigs(t) {
		nets := zooNets(t, cfg)
		got := [3]string{nets[0].model.Metadata[KeyGNoise], nets[1].model.Metadata[KeyDNoise]}
		if len(nets) > 2 {
			got[2] = nets[2].model.Metadata[KeyDNoise]
		}
		if got != want[name] {
			t.Errorf("%s: noise metadata %q, want %q", name, got, want[name])
		}
	}
	cfg := zooConfigs(t)["church256_small"]
	_, dw := randomNets(cfg, 1)
	if _, err := DiscriminatorNoise(cfg, dw, nil); err == nil || !strings.Contains(err.Error(), "no attention noise") {
		t.Errorf("DiscriminatorNoise of a D without noise: %v", err)
	}
}
