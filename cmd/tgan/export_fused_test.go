package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
	"github.com/urfave/cli/v2"
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
	b, err := (&onnx.Model{Graph: g}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notTgan, b, 0o644); err != nil {
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

// TestExportInt8: --int8 writes the fused CPU form with int8 weights, from
// a checkpoint and from a tgan .onnx file, marked in the metadata; with
// --fused cuda or --fp16 it fails with one line, writing nothing.
func TestExportInt8(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "ckpt.safetensors")
	saveTiny(t, ck)
	q, std, q2, empty := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	out, err := runExportApp(t, "--onnx", q, "--int8", ck)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkInt8Report(t, out)
	if out, err := runExportApp(t, "--onnx", std, ck); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = runExportApp(t, "--onnx", q2, "--int8", filepath.Join(std, exporter.GeneratorFile))
	if err != nil || !strings.Contains(out, "Gemms with int8 weights") {
		t.Fatalf("--int8 on generator.onnx: %v\n%s", err, out)
	}
	checkInt8Report(t, out)
	for _, f := range []string{filepath.Join(q, exporter.GeneratorFile), filepath.Join(q, exporter.DiscriminatorFile), filepath.Join(q2, exporter.GeneratorFile)} {
		mp, err := onnx.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		md := onnx.Metadata(mp)
		if md[fused.KeyFused] != "cpu" || md[fused.KeyInt8] == "" {
			t.Errorf("%s: %s = %q, %s = %q", f, fused.KeyFused, md[fused.KeyFused], fused.KeyInt8, md[fused.KeyInt8])
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--onnx", empty, "--int8", "--fused", "cuda", ck}, "--int8 writes a CPU form"},
		{[]string{"--onnx", empty, "--int8", "--fp16", ck}, "--int8 quantizes float32 weights: drop --fp16"},
		{[]string{"--onnx", empty, "--int8", "--triton", filepath.Join(empty, "repo"), ck}, "drop --triton"},
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

// TestBenchInt8: bench --int8 times the int8 export of a preset and, with
// --compare-cpu, reports its distance to the float32 export of the same
// weights: small, but not zero (it is not exact).
func TestBenchInt8(t *testing.T) {
	js := filepath.Join(t.TempDir(), "bench.jsonl")
	var out bytes.Buffer
	app := &cli.App{Name: "tgan", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{benchCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	if err := app.Run([]string{"tgan", "bench", "--preset", "tiny", "--int8", "--batches", "2", "--iters", "1", "--compare-cpu", "--json", js}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	data, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if r.Precision != "int8" || r.Model != "preset tiny int8" || !(r.RelErr > 0 && r.RelErr < 0.05) {
		t.Errorf("bench --int8: %+v", r)
	}
}

// checkInt8Report: an --int8 export prints how far the int8 generator is
// from the float32 one (or, without ONNX Runtime, why it did not check).
func checkInt8Report(t *testing.T, out string) {
	t.Helper()
	if _, err := runtime.FindLibrary("", false); err != nil {
		if !strings.Contains(out, "int8 check skipped") {
			t.Errorf("no ONNX Runtime and no skip note:\n%s", out)
		}
		return
	}
	var rel, levels float64
	i := strings.Index(out, "int8 check (8 samples")
	if i < 0 {
		t.Fatalf("no int8 check line:\n%s", out)
	}
	line := out[i:]
	if _, err := fmt.Sscanf(line[strings.Index(line, "max|int8-float32|/max|float32| "):],
		"max|int8-float32|/max|float32| %g, mean %g", &rel, &levels); err != nil {
		t.Fatalf("int8 check line %q: %v", line, err)
	}
	if !(rel > 0 && rel < 0.05) || !(levels >= 0 && levels < 5) {
		t.Errorf("int8 check: rel %g, %g levels: %s", rel, levels, line)
	}
}
