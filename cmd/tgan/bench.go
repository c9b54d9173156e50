package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/model"
	"github.com/urfave/cli/v2"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure generator throughput (images/s) on Gorgonia or ONNX Runtime",
		ArgsUsage: "[MODEL]",
		Description: `Times G forward passes. MODEL is a checkpoint or generator.onnx; without it,
--preset builds random weights (and, for --backend onnx, exports them to a
temporary folder first), so a machine without the project can measure a
full-size model from the binary alone. --compare-cpu also runs the same
input on the CPU provider and prints max|a-b|/max|b|. --fp16 (preset only)
exports the preset in float16, --int8 (preset only) with int8 weights
(tgan export --int8, CPU); --compare-cpu then compares it with the
float32 export of the same weights on the CPU provider.

Progress goes to stderr: the preset's weights and export, the warm-up run
(graph build or session creation, then one forward) and a bar over the
timed runs. Full-size models are slow on a CPU: a 256x256 generator
(--preset celeba-hq-256 or church-256, over 200M parameters) takes
seconds per image for one forward on 2 cores, and final-stl about a
second; start with --batches 1 --iters 1.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "preset", Value: "s", Usage: "architecture when no MODEL is given"},
			&cli.StringFlag{Name: "backend", Value: "onnx", Usage: "onnx (ONNX Runtime) or gorgonia, when no MODEL is given"},
			&cli.StringFlag{Name: "batches", Value: "1,32", Usage: "comma-separated batch sizes"},
			&cli.IntFlag{Name: "iters", Value: 3, Usage: "timed runs per batch size (after one warm-up)"},
			&cli.BoolFlag{Name: "compare-cpu", Usage: "check the output against the CPU provider"},
			&cli.StringFlag{Name: "json", Usage: "append results as JSON lines to this file"},
			&cli.BoolFlag{Name: "fp16", Usage: "export the preset in float16 (--backend onnx, no MODEL)"},
			&cli.BoolFlag{Name: "int8", Usage: "export the preset with int8 weights, as tgan export --int8 (--backend onnx, no MODEL)"},
		}, runtimeFlags()...),
		Action: runBench,
	}
}

// benchResult is one line of --json output.
type benchResult struct {
	Model    string  `json:"model"`
	Backend  string  `json:"backend"`
	Batch    int     `json:"batch"`
	Seconds  float64 `json:"seconds_per_batch"`
	ImagesPS float64 `json:"images_per_second"`
	RelErr   float64 `json:"rel_err_vs_cpu,omitempty"`
	// Threads is the intra-op (ONNX Runtime) or OpenBLAS thread count.
	Threads int `json:"threads"`
	// Precision is "fp16" or "int8" for a --fp16 or --int8 preset export,
	// empty otherwise.
	Precision string `json:"precision,omitempty"`
}

func runBench(c *cli.Context) error {
	opts, err := engineOptions(c)
	if err != nil {
		return err
	}
	path, refPath, cleanup, err := benchModelPath(c)
	if err != nil {
		return err
	}
	defer cleanup()
	announceLarge(path)
	m, err := engine.Open(path, engine.Generator, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	reportBackend(m)
	threads := engine.Threads(m)
	fmt.Fprintf(os.Stderr, "threads: %d per operator\n", threads)
	batches, err := parseInts(c.String("batches"))
	if err != nil {
		return err
	}
	var ref engine.Model
	if c.Bool("compare-cpu") {
		cpu := opts
		cpu.Runtime.Provider = "cpu"
		if ref, err = engine.Open(refPath, engine.Generator, cpu); err != nil {
			return err
		}
		defer ref.Close()
	}
	for _, b := range batches {
		r, err := benchOne(m, ref, b, c.Int("iters"), os.Stderr)
		if err != nil {
			return err
		}
		r.Model, r.Threads = path, threads
		if p := c.String("preset"); c.NArg() == 0 {
			r.Model = "preset " + p
		}
		if p := benchPrecision(c); p != "" {
			r.Model += " " + p
			r.Precision = p
		}
		fmt.Printf("%-28s %-28s batch %4d  %9.4f s/batch  %9.1f img/s", r.Model, r.Backend, b, r.Seconds, r.ImagesPS)
		if ref != nil {
			fmt.Printf("  rel err vs cpu %.2g", r.RelErr)
		}
		fmt.Println()
		if err := appendJSON(c.String("json"), r); err != nil {
			return err
		}
	}
	return nil
}

// benchOne times iters runs of batch after one warm-up run, reporting
// progress on w (a full-size 256 generator takes seconds per image).
func benchOne(m, ref engine.Model, batch, iters int, w io.Writer) (benchResult, error) {
	z := engine.Latents(int64(batch), batch, m.Config().LatentDim)
	fmt.Fprintf(w, "batch %d: warm-up run (graph build, session, allocations)...", batch)
	t0 := time.Now()
	out, err := m.Run(z, batch)
	if err != nil {
		fmt.Fprintln(w)
		return benchResult{}, err
	}
	fmt.Fprintf(w, " %.1fs\n", time.Since(t0).Seconds())
	bar := newImageBar(w, max(1, iters)*batch, fmt.Sprintf("batch %d: timing", batch))
	start := time.Now()
	for i := 0; i < iters; i++ {
		if _, err := m.Run(z, batch); err != nil {
			return benchResult{}, err
		}
		_ = bar.Add(batch)
	}
	if iters <= 0 {
		_ = bar.Finish()
	}
	sec := time.Since(start).Seconds() / float64(max(1, iters))
	r := benchResult{Backend: m.Backend(), Batch: batch, Seconds: sec, ImagesPS: float64(batch) / sec}
	if ref != nil {
		want, err := ref.Run(z, batch)
		if err != nil {
			return r, err
		}
		r.RelErr = maxRelErr(out, want)
	}
	return r, nil
}

// benchModelPath returns MODEL, or a model made from --preset with random
// weights: a checkpoint for gorgonia, an exported generator.onnx for onnx.
// refPath is the model --compare-cpu runs on the CPU provider: the same
// file, or for --fp16 the float32 export of the same weights.
func benchModelPath(c *cli.Context) (path, refPath string, cleanup func(), err error) {
	precision := benchPrecision(c)
	if c.Bool("fp16") && c.Bool("int8") {
		return "", "", nil, fmt.Errorf("--fp16 and --int8: choose one")
	}
	if c.NArg() == 1 {
		if precision != "" {
			return "", "", nil, fmt.Errorf("--%s applies to --preset only: export MODEL with 'tgan export --%s' and bench that file", precision, precision)
		}
		path, err := resolveCheckpoint(c.Args().First())
		return path, path, func() {}, err
	}
	cfg, err := model.Preset(c.String("preset"))
	if err != nil {
		return "", "", nil, err
	}
	if precision != "" && c.String("backend") != "onnx" {
		return "", "", nil, fmt.Errorf("--%s needs --backend onnx", precision)
	}
	dir, err := os.MkdirTemp("", "tgan-bench-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	rng := rand.New(rand.NewSource(1))
	fmt.Fprintf(os.Stderr, "preset %s: %dx%d, random G weights (%.1fM parameters)\n", c.String("preset"), cfg.ImageSize, cfg.ImageSize,
		float64(floatParams(cfg.GParams()))/1e6)
	ck := &checkpoint.Checkpoint{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rng)}
	switch c.String("backend") {
	case "gorgonia":
		path := dir + "/bench.safetensors"
		return path, path, cleanup, checkpoint.Save(path, ck)
	case "onnx":
		src := exporter.Source{Config: cfg, Gen: ck.Gen, FromGen: true}
		path := dir + "/" + exporter.GeneratorFile
		fmt.Fprintf(os.Stderr, "exporting the preset to ONNX (%s)\n", dir)
		if _, err := exporter.Export(src, dir, exporter.Options{Version: version}); err != nil || precision == "" {
			return path, path, cleanup, err
		}
		variant := dir + "/" + precision
		_, err := exporter.Export(src, variant, exporter.Options{Version: version, FP16: c.Bool("fp16"), Int8: c.Bool("int8")})
		return variant + "/" + exporter.GeneratorFile, path, cleanup, err
	}
	cleanup()
	return "", "", nil, fmt.Errorf("--backend %q: want onnx or gorgonia", c.String("backend"))
}

// benchPrecision names the --fp16 or --int8 variant of a preset export
// ("" for float32).
func benchPrecision(c *cli.Context) string {
	switch {
	case c.Bool("fp16"):
		return exporter.PrecisionFP16
	case c.Bool("int8"):
		return "int8"
	}
	return ""
}

// floatParams counts the float parameters of ps as PyTorch's
// sum(p.numel() for p in parameters()) does: buffers left out, dead
// parameters (declared, never used) counted.
func floatParams(ps []model.Param) int {
	n := 0
	for _, p := range ps {
		if !p.Int64 && (!p.Buffer || p.Dead) {
			n += p.Size()
		}
	}
	return n
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("batch size %q: want a positive integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func maxRelErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		num = math.Max(num, math.Abs(float64(got[i])-float64(want[i])))
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	return num / den
}

func appendJSON(path string, r benchResult) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(r)
}
