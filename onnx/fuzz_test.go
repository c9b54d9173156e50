package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// FuzzReadFile feeds arbitrary bytes to ReadFile and reads the metadata the
// runtime relies on (tgan.config goes through model.ParseJSON).
func FuzzReadFile(f *testing.F) {
	for _, name := range []string{"tiny_gen.onnx", "tiny_int.onnx", "tiny_disc.onnx"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "onnx", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	dir := f.TempDir() // one file per worker process, rewritten per input
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mp, err := ReadFile(path)
		if err != nil {
			return
		}
		md := Metadata(mp)
		if js, ok := md["tgan.config"]; ok {
			model.ParseJSON(js)
		}
		for _, init := range mp.GetGraph().GetInitializer() {
			FloatData(init)
		}
	})
}
