package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/checkpoint"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write ONNX graphs of G and D, or the official PyTorch training checkpoint (--pth)",
		ArgsUsage: "CKPT | MODEL.onnx",
		Description: pthExportHelp + `Writes OUTDIR/generator.onnx (z -> raw image in about [-1,1]) and
OUTDIR/discriminator.onnx (image -> logit, evaluation mode) from a tgan
checkpoint. CKPT is a checkpoint file (ckpt-*.safetensors, or one made by
'tgan import') or a training run folder, whose 'latest' entry (a symlink or a
text file naming the newest checkpoint) is used. The EMA generator is
exported unless --raw-generator is given. --fp16 writes float16 weights and
compute (inputs and outputs stay float32, metadata tgan.precision "fp16"),
for GPUs; on a CPU it is slower than the default float32.

--fused cpu|cuda writes ONNX Runtime's fused form instead of standard
opset-17 operators: one com.microsoft.MultiHeadAttention per block; for
cuda also SkipLayerNormalization, and head sizes that are not a multiple
of 8 zero-padded. Such files run on ONNX Runtime only (CPU or CUDA
provider, float32 or float16); tgan's own runtime fuses standard files by
itself. Given MODEL.onnx (a file written by 'tgan export'), --fused writes
its fused form to OUTDIR under the same name.

--int8 writes the fused CPU form with the weights of every linear layer
stored as int8 (one scale per output channel) and run by ONNX Runtime's
DynamicQuantizeMatMul, which quantizes the activations to uint8 as it
runs: 1.4-2.1x the float32 throughput on a CPU, at a measured cost in
accuracy (outputs within a few percent; see BENCHMARKS.md for the Frechet
distance). The export prints the distance to float32 on 8 samples. It is
not exact: keep the float32 files for parity checks. CPU provider only,
float32 only (not with --fp16, --fused cuda or --triton).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "onnx", Usage: "output `DIR` for generator.onnx and discriminator.onnx"},
			&cli.StringFlag{Name: "pth", Usage: "write the official TransGAN training checkpoint (PyTorch zip) to `OUT.pth` instead of ONNX"},
			&cli.BoolFlag{Name: "module-prefix", Usage: "--pth: prefix state_dict keys with \"module.\" as DDP does (default: on for final, off for v1)"},
			&cli.StringFlag{Name: "path-helper", Usage: "--pth: the official script's run folder `DIR` (path_helper; default logs/<OUT name>)"},
			&cli.BoolFlag{Name: "raw-generator", Usage: "export the trained generator instead of its EMA"},
			&cli.StringFlag{Name: "triton", Usage: "also write the generator into the Triton model repository `REPO` (REPO/tgan_generator/)"},
			&cli.IntFlag{Name: "triton-max-batch", Value: 64, Usage: "Triton max_batch_size"},
			&cli.BoolFlag{Name: "fp16", Usage: "float16 weights and compute, float32 inputs and outputs (for GPUs)"},
			&cli.StringFlag{Name: "fused", Usage: "write ONNX Runtime's fused form for `PROVIDER` (cpu or cuda) instead of standard operators"},
			&cli.BoolFlag{Name: "int8", Usage: "fused CPU form with int8 weights in every linear layer: faster on CPUs, not exact"},
		},
		Action: runExport,
	}
}

// reportExport says what Export is about to build: at full size (200M+
// parameters for the 256 models) building and writing the graphs takes
// a while, with nothing else to show.
func reportExport(w io.Writer, src exporter.Source, dir string) {
	cfg := src.Config
	msg := fmt.Sprintf("exporting the %dx%d generator (%.1fM parameters", cfg.ImageSize, cfg.ImageSize, float64(floatParams(cfg.GParams()))/1e6)
	if src.Dis != nil {
		msg += fmt.Sprintf(") and discriminator (%.1fM", float64(floatParams(cfg.DParams()))/1e6)
	}
	fmt.Fprintf(w, "%s) to %s\n", msg, dir)
}

func runExport(c *cli.Context) error {
	if c.String("pth") != "" {
		return runExportPTH(c)
	}
	if c.String("onnx") == "" {
		return fmt.Errorf("export: --onnx DIR or --pth OUT.pth is required")
	}
	if c.NArg() != 1 {
		return fmt.Errorf("export: need exactly one CKPT argument (a checkpoint file or a run folder), got %d", c.NArg())
	}
	target, err := fusedTarget(c)
	if err != nil {
		return err
	}
	if isONNXFile(c.Args().First()) {
		return exportFusedFile(c, c.Args().First(), target)
	}
	path, err := resolveCheckpoint(c.Args().First())
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "loading %s\n", path)
	ck, err := checkpoint.Load(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	src := exporter.Source{Config: ck.Config, Gen: ck.AvgGen, Dis: ck.Dis}
	if c.Bool("raw-generator") || ck.AvgGen == nil {
		src.Gen, src.FromGen = ck.Gen, true
	}
	if ck.AvgGen == nil && !c.Bool("raw-generator") {
		fmt.Fprintf(c.App.ErrWriter, "export: %s has no avg_gen (EMA) weights; exporting gen\n", path)
	}
	start := time.Now()
	reportExport(c.App.ErrWriter, src, c.String("onnx"))
	files, err := exporter.Export(src, c.String("onnx"), exporter.Options{
		Version:        version,
		TritonRepo:     c.String("triton"),
		TritonMaxBatch: c.Int("triton-max-batch"),
		Metadata:       map[string]string{"tgan.checkpoint": filepath.Base(path)},
		FP16:           c.Bool("fp16"),
		Fused:          target,
		Int8:           c.Bool("int8"),
	})
	for _, f := range files {
		fmt.Fprintln(c.App.Writer, "wrote", f)
	}
	if err == nil {
		fmt.Fprintf(c.App.ErrWriter, "exported in %.1fs\n", time.Since(start).Seconds())
	}
	if err != nil || !c.Bool("int8") {
		return err
	}
	floatGen, cleanup, err := floatGenerator(src)
	if err != nil {
		fmt.Fprintf(c.App.Writer, "int8 check skipped: %v\n", oneLine(err))
		return nil
	}
	defer cleanup()
	reportInt8Error(c.App.Writer, floatGen, filepath.Join(c.String("onnx"), exporter.GeneratorFile))
	return nil
}
