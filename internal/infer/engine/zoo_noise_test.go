package engine_test

import (
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
)

// TestParityCheckpointGeneratorNoise: a checkpoint generator with attention
// noise (the church256_small golden) draws it as its export does, from the
// noise seed and each latent: an image does not depend on its batch
// mates, another seed changes it, and the export run by ONNX Runtime gives
// the same images for the same latents and seed.
func TestParityCheckpointGeneratorNoise(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	ck, _, err := pth.Import(filepath.Join("..", "..", "..", "testdata", "golden", "church256_small", "official.pth"), pth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := func(seed int64) engine.Model {
		m, err := engine.FromCheckpoint(ck, engine.Generator, engine.Options{NoiseSeed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := open(5)
	per, out := m.InSize(), m.OutSize()
	z := engine.Latents(2, 3, per)
	a, err := m.Run(z, 3)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := m.Run(z[per:2*per], 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := testkit.RelErr(alone, a[out:2*out]); e > 1e-5 {
		t.Errorf("an image alone and in a batch of 3 differ: rel err %.3g", e)
	}
	// 17 images of 64x64 run as passes of 16 and 1 (gorgoniaMaxBatch).
	z17 := engine.Latents(3, 17, per)
	all, err := m.Run(z17, 17)
	if err != nil {
		t.Fatal(err)
	}
	last, err := m.Run(z17[16*per:], 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 17*out || testkit.RelErr(last, all[16*out:]) > 1e-5 {
		t.Errorf("batch 17: %d values, last image vs alone rel err %.3g", len(all), testkit.RelErr(last, all[16*out:]))
	}
	other, err := open(6).Run(z, 3)
	if err != nil {
		t.Fatal(err)
	}
	if e := testkit.RelErr(other, a); e < 1e-3 {
		t.Errorf("noise seeds 5 and 6 give the same images (rel err %.3g): is the noise fed?", e)
	}

	dir := t.TempDir()
	if _, err := exporter.Export(exporter.Source{Config: ck.Config, Gen: ck.Sampler()}, dir, exporter.Options{}); err != nil {
		t.Fatal(err)
	}
	om, err := engine.Open(filepath.Join(dir, exporter.GeneratorFile), engine.Generator, engine.Options{NoiseSeed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer om.Close()
	b, err := om.Run(z, 3)
	if err != nil {
		t.Fatal(err)
	}
	if e := testkit.RelErr(b, a); e > 1e-5 {
		t.Errorf("checkpoint and export differ for the same latents and noise seed: rel err %.3g", e)
	}
}
