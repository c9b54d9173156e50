package runtime

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAllTwoOutputs runs testdata/eval/tiny_inception.onnx (made by
// testdata/eval/make_eval.py): one input, outputs pool [B, 8] and logits
// [B, 10].
func TestRunAllTwoOutputs(t *testing.T) {
	env := openEnv(t, Options{})
	m, err := env.OpenModel(filepath.Join("..", "testdata", "eval", "tiny_inception.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := make([]float32, 3*3*16*16)
	for i := range in {
		in[i] = float32(i%17) / 16
	}
	outs, err := m.RunAll(in, []int64{3, 3, 16, 16})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Name != "pool" || outs[1].Name != "logits" {
		t.Fatalf("outputs %+v", outs)
	}
	pool, err := OutputByName(outs, "pool")
	if err != nil || !equalShape(pool.Shape, []int64{3, 8}) || len(pool.Data) != 24 {
		t.Errorf("pool: shape %v, %d values, %v", pool.Shape, len(pool.Data), err)
	}
	logits, _ := OutputByName(outs, "logits")
	if !equalShape(logits.Shape, []int64{3, 10}) {
		t.Errorf("logits shape %v", logits.Shape)
	}
	// Item 0 alone gives the same features (batch independence).
	one, err := m.RunAll(in[:3*16*16], []int64{1, 3, 16, 16})
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, one[0].Data, pool.Data[:8], 1e-6)
	if _, err := OutputByName(outs, "probs"); err == nil || !strings.Contains(err.Error(), "pool") {
		t.Errorf("OutputByName(probs): %v", err)
	}
	if _, err := m.RunAll(in, []int64{3, 3, 8, 32}); err == nil {
		t.Error("RunAll with a wrong input shape succeeded")
	}
	if _, _, err := m.Run(in, []int64{3, 3, 16, 16}); err == nil || !strings.Contains(err.Error(), "one output") {
		t.Errorf("Run on a two-output model: %v", err)
	}
	// RunAll also runs single-output models.
	g := openModel(t, env, "tiny_gen.onnx")
	if outs, err := g.RunAll(make([]float32, 16), []int64{2, 8}); err != nil || len(outs) != 1 || !equalShape(outs[0].Shape, []int64{2, 3, 4, 4}) {
		t.Errorf("RunAll on tiny_gen: %+v, %v", outs, err)
	}
}
