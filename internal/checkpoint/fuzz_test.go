package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// seedCheckpoint writes a small valid safetensors file and returns its bytes.
func seedCheckpoint(f *testing.F, meta map[string]string) []byte {
	f.Helper()
	path := filepath.Join(f.TempDir(), "seed.safetensors")
	tensors := map[string]*model.Tensor{
		"gen.l1.weight": {Shape: []int{2, 3}, F32: []float32{1, 2, 3, 4, 5, 6}},
		"gen.index":     {Shape: []int{2}, I64: []int64{7, 8}},
		"scalar":        {Shape: []int{}, F32: []float32{0.5}},
	}
	if err := WriteTensors(path, tensors, meta); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzReadTensors feeds arbitrary bytes to ReadTensors and Load: they must
// fail with an error, never panic or allocate beyond the file's size.
func FuzzReadTensors(f *testing.F) {
	b := seedCheckpoint(f, map[string]string{"step": "3"})
	f.Add(b)
	f.Add(b[:len(b)-5])
	cfg, err := model.Preset("tiny")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seedCheckpoint(f, map[string]string{MetaFormat: Format, MetaFormatVersion: FormatVersion, MetaConfig: cfg.JSON()}))
	dir := f.TempDir() // one file per worker process, rewritten per input
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tensors, _, err := ReadTensors(path)
		if err == nil {
			for name, tn := range tensors {
				if err := checkTensor(tn); err != nil {
					t.Fatalf("tensor %q: %v", name, err)
				}
			}
		}
		if c, err := Load(path); err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("Load accepted an invalid checkpoint: %v", err)
			}
		}
	})
}
