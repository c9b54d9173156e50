package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/onnx/fused"
)

// fusedTarget parses --fused; "" when it is not given.
func fusedTarget(c *cli.Context) (fused.Target, error) {
	var t fused.Target
	if c.IsSet("fused") {
		var err error
		if t, err = fused.ParseTarget(c.String("fused")); err != nil {
			return "", fmt.Errorf("export: --fused: %w", err)
		}
	}
	if !c.Bool("int8") {
		return t, nil
	}
	switch {
	case t == fused.CUDA:
		return "", errors.New("export: --int8 writes a CPU form (ONNX Runtime's DynamicQuantizeMatMul runs on the CPU provider): drop --fused cuda")
	case c.Bool("fp16"):
		return "", errors.New("export: --int8 quantizes float32 weights: drop --fp16")
	case c.String("triton") != "":
		return "", errors.New("export: --int8 writes a CPU form, and Triton runs models on its GPUs where it has any: drop --triton (export the float32 generator for Triton)")
	}
	return fused.CPU, nil
}

func isONNXFile(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".onnx")
}

// exportFusedFile writes the fused form of an .onnx file that tgan export
// wrote to OUTDIR under the same name.
func exportFusedFile(c *cli.Context, path string, target fused.Target) error {
	if target == "" {
		return fmt.Errorf("export: %s is an ONNX file: give --fused cpu|cuda to write its fused form, or a checkpoint to export", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	out, rep, err := fused.Bytes(data, fused.Options{Target: target, Int8Weights: c.Bool("int8")})
	switch {
	case errors.Is(err, fused.ErrNotTgan):
		return fmt.Errorf("export: %s: %v; --fused rewrites files written by 'tgan export'", path, err)
	case err != nil:
		return fmt.Errorf("export: %s: %w", path, err)
	}
	dir := c.String("onnx")
	dest := filepath.Join(dir, filepath.Base(path))
	if same(dest, path) {
		return fmt.Errorf("export: --onnx %s would overwrite %s; choose another folder", dir, path)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := atomicfile.WriteBytes(dest, out); err != nil {
		return fmt.Errorf("export: write %s: %w", dest, err)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%v)\n", dest, rep)
	if c.Bool("int8") {
		reportInt8Error(c.App.Writer, path, dest)
	}
	return nil
}

// same reports whether two paths name the same existing file.
func same(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}
