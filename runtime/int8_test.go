package runtime

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/model"
)

// TestRefuseInt8: a CUDA session refuses a file with int8 weights (the
// check runs on the session's metadata, so a CPU session of the same file
// proves it here), and accepts the float32 export of the same weights.
func TestRefuseInt8(t *testing.T) {
	env := openEnv(t, Options{Provider: CPU})
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	src := exporter.Source{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(1))), FromGen: true}
	for _, int8 := range []bool{false, true} {
		dir := t.TempDir()
		if _, err := exporter.Export(src, dir, exporter.Options{Int8: int8}); err != nil {
			t.Fatal(err)
		}
		m, err := env.OpenModel(filepath.Join(dir, exporter.GeneratorFile))
		if err != nil {
			t.Fatal(err)
		}
		err = refuseInt8(m.sess.Metadata())
		m.Close()
		switch {
		case int8 && (err == nil || !strings.Contains(err.Error(), "int8 weights")):
			t.Errorf("int8 file: %v, want a refusal naming int8 weights", err)
		case !int8 && err != nil:
			t.Errorf("float32 file refused: %v", err)
		}
	}
}
