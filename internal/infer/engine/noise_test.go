package engine_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
)

// TestONNXGeneratorNoise runs an exported generator with an attention-noise
// input (the celeba256_small golden: non-zero noise strengths) through the
// engine: the noise is filled from the seed and each latent, so the same
// latents give the same images in any batch, another seed other images,
// and the draws are runtime.DrawNoise's.
func TestONNXGeneratorNoise(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	ck, _, err := pth.Import(filepath.Join("..", "..", "..", "testdata", "golden", "celeba256_small", "official.pth"), pth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := exporter.Export(exporter.Source{Config: ck.Config, Gen: ck.Sampler()}, dir, exporter.Options{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, exporter.GeneratorFile)
	open := func(seed int64) engine.Model {
		m, err := engine.Open(path, engine.Generator, engine.Options{NoiseSeed: seed})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	m := open(5)
	per, out := m.InSize(), m.OutSize()
	z := engine.Latents(1, 3, per)
	a, err := m.Run(z, 3)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := m.Run(z, 3)
	alone, _ := m.Run(z[per:2*per], 1)
	if !slices.Equal(a, again) || testkit.RelErr(alone, a[out:2*out]) > 1e-5 {
		t.Errorf("same latents, same seed: images differ (rerun %v, alone vs in a batch of 3: rel err %.3g)",
			slices.Equal(a, again), testkit.RelErr(alone, a[out:2*out]))
	}
	other, _ := open(6).Run(z, 3)
	if testkit.RelErr(other, a) < 1e-3 {
		t.Errorf("noise seeds 5 and 6 give the same images (rel err %.3g): is the noise fed?", testkit.RelErr(other, a))
	}

	env, err := runtime.Open(runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	rm, err := env.OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	T := rm.NoiseSize()
	if want := exporter.GeneratorNoise(ck.Config); T != want {
		t.Fatalf("NoiseSize %d, want %d", T, want)
	}
	if v, _ := rm.MetadataValue(exporter.KeyGNoise); v == "" {
		t.Errorf("no %s metadata", exporter.KeyGNoise)
	}
	explicit, _, err := rm.RunNoise(z, []int64{3, int64(per)}, runtime.DrawNoise(5, z, per, T))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(explicit, a) {
		t.Errorf("engine images differ from RunNoise with runtime.DrawNoise(seed 5) (rel err %.3g)", testkit.RelErr(explicit, a))
	}
}
