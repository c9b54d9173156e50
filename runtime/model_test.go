package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParityTinyGenTorch(t *testing.T) {
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_gen.onnx")
	if m.Provider() != CPU || m.FallbackReason() != "" {
		t.Errorf("provider %q, fallback %q; want cpu and none", m.Provider(), m.FallbackReason())
	}
	e := loadExpected(t)
	const per, perOut = 8, 3 * 4 * 4
	for _, batch := range []int{1, 5} {
		out, shape, err := m.Run(rows(e.Input, per, 0, batch), []int64{int64(batch), 8})
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		if want := []int64{int64(batch), 3, 4, 4}; !equalShape(shape, want) {
			t.Fatalf("batch %d: shape %v, want %v", batch, shape, want)
		}
		assertClose(t, out, rows(e.Output, perOut, 0, batch), 1e-5)
	}
}

func TestSessionAndTensorsReused(t *testing.T) {
	env := openEnv(t, Options{IntraOpThreads: 1})
	m := openModel(t, env, "tiny_gen.onnx")
	e := loadExpected(t)
	run := func(batch int) *ioTensors {
		t.Helper()
		out, _, err := m.Run(rows(e.Input, 8, 0, batch), []int64{int64(batch), 8})
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, out, rows(e.Output, 48, 0, batch), 1e-5)
		return m.buffers[fmtShape(batch)]
	}
	sess := m.sess
	first := run(5)
	if first == nil || first.out == nil {
		t.Fatal("no cached tensors after the first run")
	}
	in, out := first.in, first.out
	run(1)
	again := run(5)
	if again.in != in || again.out != out {
		t.Error("batch 5 tensors were re-created after a batch 1 run")
	}
	if m.sess != sess {
		t.Error("session was re-created")
	}
	if len(m.buffers) != 2 {
		t.Errorf("%d cached shapes, want 2", len(m.buffers))
	}
}

func fmtShape(batch int) string { return shapeKey([]int64{int64(batch), 8}) }

func TestTinyDiscStaticOutput(t *testing.T) {
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_disc.onnx")
	in := make([]float32, 3*48)
	out, shape, err := m.Run(in, []int64{3, 3, 4, 4})
	if err != nil {
		t.Fatal(err)
	}
	if !equalShape(shape, []int64{3, 1}) {
		t.Fatalf("shape %v, want [3 1]", shape)
	}
	// Zero input: every logit is the bias, so all three must be equal.
	if out[0] != out[1] || out[1] != out[2] {
		t.Errorf("logits %v differ for identical inputs", out)
	}
	if b := m.buffers[shapeKey([]int64{3, 3, 4, 4})]; b == nil || b.out == nil {
		t.Error("static output shape was not preallocated")
	}
}

func TestMetadataAndInfo(t *testing.T) {
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_gen.onnx")
	cfg, ok := m.MetadataValue("tgan.config")
	if !ok {
		t.Fatalf("no tgan.config in %v", m.Metadata())
	}
	var c struct {
		LatentDim int `json:"latent_dim"`
		ImgSize   int `json:"img_size"`
	}
	if err := json.Unmarshal([]byte(cfg), &c); err != nil || c.LatentDim != 8 || c.ImgSize != 4 {
		t.Errorf("tgan.config %q: %+v, %v", cfg, c, err)
	}
	if v := m.Metadata()["tgan.latent_dim"]; v != "8" {
		t.Errorf("tgan.latent_dim = %q, want 8", v)
	}
	if _, ok := m.MetadataValue("missing"); ok {
		t.Error("MetadataValue(missing) reported present")
	}
	in, out := m.Inputs(), m.Outputs()
	if len(in) != 1 || in[0].Name != "z" || !equalShape(in[0].Shape, []int64{-1, 8}) || in[0].DataType != "float32" {
		t.Errorf("inputs %+v", in)
	}
	if len(out) != 1 || out[0].Name != "image" || len(out[0].Shape) != 4 {
		t.Errorf("outputs %+v", out)
	}
	if n, err := m.SampleSize(); err != nil || n != 8 {
		t.Errorf("SampleSize = %d, %v; want 8", n, err)
	}
}

func TestRunBatched(t *testing.T) {
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_gen.onnx")
	e := loadExpected(t)
	const n = 13 // items i use expected row i%5
	var starts []int
	got := make([]float32, n*48)
	err := m.RunBatched(context.Background(), n, 5,
		func(in []float32, start, count int) error {
			for i := 0; i < count; i++ {
				copy(in[i*8:], rows(e.Input, 8, (start+i)%5, (start+i)%5+1))
			}
			return nil
		},
		func(out []float32, shape []int64, start int) error {
			starts = append(starts, start)
			copy(got[start*48:], out)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(starts) != 3 || starts[2] != 10 {
		t.Errorf("batch starts %v, want [0 5 10]", starts)
	}
	for i := 0; i < n; i++ {
		assertClose(t, rows(got, 48, i, i+1), rows(e.Output, 48, i%5, i%5+1), 1e-5)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = m.RunBatched(ctx, 3, 1, func([]float32, int, int) error { return nil },
		func([]float32, []int64, int) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled RunBatched: %v", err)
	}
}

func TestOpenModelErrors(t *testing.T) {
	env := openEnv(t, Options{})
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	b := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(b)
	if err := os.WriteFile(junk, b, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.onnx")
	_, err := env.OpenModel(missing)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "runtime: open model "+missing) {
		t.Errorf("missing file: %v", err)
	}
	_, err = env.OpenModel(junk)
	if err == nil || !strings.Contains(err.Error(), "runtime: open model "+junk) ||
		!strings.Contains(err.Error(), "not a loadable ONNX model") {
		t.Errorf("random bytes: %v", err)
	}
	if _, err := env.OpenModel(dir); err == nil {
		t.Error("directory opened as a model")
	}
}

func TestRunErrors(t *testing.T) {
	env := openEnv(t, Options{})
	m := openModel(t, env, "tiny_gen.onnx")
	cases := []struct {
		name  string
		in    []float32
		shape []int64
		want  string
	}{
		{"short input", make([]float32, 7), []int64{1, 8}, "7 values for shape [1 8], want 8"},
		{"wrong rank", make([]float32, 8), []int64{8}, "has rank 1"},
		{"wrong feature dim", make([]float32, 9), []int64{1, 9}, "does not match model shape [-1 8] at axis 1"},
		{"zero batch", nil, []int64{0, 8}, "non-positive"},
	}
	for _, c := range cases {
		_, _, err := m.Run(c.in, c.shape)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "runtime: run ") {
			t.Errorf("%s: error %v, want it to mention %q", c.name, err, c.want)
		}
	}
	im := openModel(t, env, "tiny_int.onnx")
	if _, _, err := im.Run(make([]float32, 4), []int64{1, 4}); err == nil ||
		!strings.Contains(err.Error(), "input tokens has type int64; Run needs float32") {
		t.Errorf("int64 model: %v", err)
	}
	m.Close()
	if _, _, err := m.Run(make([]float32, 8), []int64{1, 8}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("run after Close: %v", err)
	}
}

func BenchmarkTinyGen(b *testing.B) {
	env := openEnv(b, Options{})
	m := openModel(b, env, "tiny_gen.onnx")
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			in := make([]float32, batch*8)
			shape := []int64{int64(batch), 8}
			for b.Loop() {
				if _, _, err := m.Run(in, shape); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
