package main

import (
	"errors"
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/urfave/cli/v2"
)

func inferCommand() *cli.Command {
	return &cli.Command{
		Name:      "infer",
		Usage:     "generate images from a checkpoint (Gorgonia) or generator.onnx (ONNX Runtime)",
		ArgsUsage: "MODEL (.safetensors checkpoint, training run folder or .onnx)",
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "n", Value: 16, Usage: "number of images (ignored with --z)"},
			&cli.Int64Flag{Name: "seed", Value: 0, Usage: "seed of the N(0,1) latents"},
			truncationFlag(),
			batchFlag(),
			&cli.StringFlag{Name: "out", Value: "samples.png", Usage: "a .png grid, or a folder for one PNG per image (\"\" for none)"},
			&cli.StringFlag{Name: "z", Usage: "read latents from a float32 [N, latent] .npy instead of sampling"},
			&cli.StringFlag{Name: "raw", Usage: "also write the raw float32 [N, 3, H, W] output (before clamping) as .npy"},
			&cli.IntFlag{Name: "interpolate", Usage: "K > 1: n strips of K images interpolating between pairs of latents"},
			&cli.BoolFlag{Name: "raw-generator", Usage: "checkpoints: sample from the trained G instead of the EMA G"},
			&cli.IntFlag{Name: "cols", Usage: "grid columns (0: square grid; K with --interpolate)"},
		}, runtimeFlags()...),
		Action: runInfer,
	}
}

func runInfer(c *cli.Context) error {
	path, err := oneArg(c, "MODEL")
	if err != nil {
		return err
	}
	if _, err := sampledTruncation(c); err != nil { // before loading anything
		return err
	}
	m, err := openModel(c, path, engine.Generator)
	if err != nil {
		return err
	}
	defer m.Close()
	cfg := m.Config()
	z, n, err := latents(c, cfg.LatentDim)
	if err != nil {
		return err
	}
	images, err := runBatches(m, z, n, batchSize(c, cfg.ImageSize), "generating")
	if err != nil {
		return err
	}
	s := cfg.ImageSize
	if raw := c.String("raw"); raw != "" {
		if err := npy.WriteFloat32(raw, images, []int{n, 3, s, s}); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s [%d, 3, %d, %d]\n", raw, n, s, s)
	}
	return writeImages(c.String("out"), images, n, s, gridCols(c), truncationText(c.Float64("truncation")))
}

// truncationFlag is --truncation of infer, stats and eval (serve has
// ?truncation=).
func truncationFlag() cli.Flag {
	return &cli.Float64Flag{Name: "truncation", Usage: "truncation trick: every latent coordinate beyond `T` is redrawn from N(0,1) " +
		"until it lies within [-T, T] (0: none; recorded in the outputs; the same seed and T give the same latents in infer, serve, stats and eval)"}
}

// sampledTruncation returns --truncation, checked; it is an error with
// latents from --z, which are used as given.
func sampledTruncation(c *cli.Context) (float64, error) {
	t := c.Float64("truncation")
	if err := engine.CheckTruncation(t); err != nil {
		return 0, fmt.Errorf("--truncation: %w", err)
	}
	if t != 0 && c.String("z") != "" {
		return 0, errors.New("--truncation applies to sampled latents; --z latents are used as given")
	}
	return t, nil
}

// truncationText is the PNG metadata recording truncation t (nil: none).
func truncationText(t float64) map[string]string {
	if t == 0 {
		return nil
	}
	return map[string]string{"tgan.truncation": strconv.FormatFloat(t, 'g', -1, 64)}
}

// latents returns the z batch: from --z, or N(0,1) from --seed, optionally
// expanded into interpolation strips.
func latents(c *cli.Context, dim int) ([]float32, int, error) {
	t, err := sampledTruncation(c)
	if err != nil {
		return nil, 0, err
	}
	if path := c.String("z"); path != "" {
		z, shape, err := npy.ReadFloat32(path)
		if err != nil {
			return nil, 0, err
		}
		if len(shape) != 2 || shape[1] != dim {
			return nil, 0, fmt.Errorf("%s: latents have shape %v, the model needs [N, %d]", path, shape, dim)
		}
		return z, shape[0], nil
	}
	n := c.Int("n")
	if n <= 0 {
		return nil, 0, fmt.Errorf("--n %d: must be positive", n)
	}
	if k := c.Int("interpolate"); k > 1 {
		return engine.Interpolate(c.Int64("seed"), n, k, dim, t), n * k, nil
	}
	return engine.SampleLatents(c.Int64("seed"), n, dim, t), n, nil
}

func gridCols(c *cli.Context) int {
	if k := c.Int("interpolate"); k > 1 && c.Int("cols") == 0 {
		return k
	}
	return c.Int("cols")
}

// writeImages saves a grid (path ends in .png) or one PNG per image, with
// text chunks (metadata) in each.
func writeImages(out string, images []float32, n, size, cols int, text map[string]string) error {
	if out == "" {
		return nil
	}
	if strings.HasSuffix(strings.ToLower(out), ".png") {
		opt := imageio.GridOptions{Cols: cols, Scale: max(1, 64/size)}
		grid, err := imageio.Grid(images, n, 3, size, size, opt)
		if err != nil {
			return err
		}
		if err := imageio.SavePNGText(out, grid, text); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s (%d images)\n", out, n)
		return nil
	}
	imgs, err := imageio.Images(images, n, 3, size, size)
	if err != nil {
		return err
	}
	all := make([]image.Image, len(imgs))
	for i, im := range imgs {
		all[i] = im
	}
	if err := imageio.SaveEachText(out, 0, text, all...); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d PNGs into %s\n", n, out)
	return nil
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", errors.New(c.Command.Name + ": want exactly one " + what + " argument (see --help)")
	}
	return c.Args().First(), nil
}
