package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/exporter/fused"
	"github.com/tgan-dev/tgan/onnx"
)

// TestExportFused: --fused writes fused files from a checkpoint and from a
// tgan .onnx file; a file that is not tgan's, an unknown target, a fused
// file again, a plain .onnx without --fused and an output over the input
// each fail with one clear line, writing nothing.
func TestExportFused(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "ckpt.safetensors")
	saveTiny(t, ck)
	std, cuda, cpu := t.TempDir(), t.TempDir(), t.TempDir()
	if out, err := runExportApp(t, "--onnx", std, ck); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := runExportApp(t, "--onnx", cuda, "--fused", "cuda", ck); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range []string{exporter.GeneratorFile, exporter.DiscriminatorFile} {
		mp, err := onnx.ReadFile(filepath.Join(cuda, f))
		if err != nil {
			t.Fatal(err)
		}
		if got := onnx.Metadata(mp)[fused.KeyFused]; got != "cuda" {
			t.Errorf("%s: %s = %q, want cuda", f, fused.KeyFused, got)
		}
	}
	gen := filepath.Join(std, exporter.GeneratorFile)
	out, err := runExportApp(t, "--onnx", cpu, "--fused", "cpu", gen)
	if err != nil || !strings.Contains(out, "MultiHeadAttention") {
		t.Fatalf("fusing %s: %v\n%s", gen, err, out)
	}
	notTgan := filepath.Join(t.TempDir(), "other.onnx")
	g := onnx.NewGraph("other")
	g.Output(g.Op("Identity", []string{g.Input("x", onnx.Batch, 2)}), "y", onnx.Batch, 2)
	if err := (&onnx.Model{Graph: g}).WriteFile(notTgan); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--onnx", empty, "--fused", "cuda", notTgan}, "other.onnx: not a tgan export (no tgan.network metadata)"},
		{[]string{"--onnx", empty, "--fused", "tpu", ck}, `--fused: unknown fused target "tpu" (want cpu or cuda)`},
		{[]string{"--onnx", empty, "--fused", "cpu", filepath.Join(cuda, exporter.GeneratorFile)}, "already fused (for cuda)"},
		{[]string{"--onnx", empty, gen}, "give --fused cpu|cuda"},
		{[]string{"--onnx", std, "--fused", "cpu", gen}, "would overwrite"},
	} {
		out, err := runExportApp(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q\n%s", c.args, err, c.want, out)
		}
	}
	if left, _ := os.ReadDir(empty); len(left) != 0 {
		t.Errorf("failed exports left %d files", len(left))
	}
}
