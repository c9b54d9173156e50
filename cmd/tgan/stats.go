package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/tgan-dev/tgan/internal/eval/quality"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/urfave/cli/v2"
)

func statsCommand() *cli.Command {
	return &cli.Command{
		Name:      "stats",
		Usage:     "Inception feature statistics (TTUR/pytorch-fid .npz) of a dataset or a model",
		ArgsUsage: "[MODEL] (a checkpoint, a training run folder or generator.onnx; or --dataset KIND)",
		Description: "tgan stats --inception inception.onnx --dataset cifar10 --data cifar-10-batches-bin --out cifar10.npz\n" +
			"tgan stats --inception inception.onnx --n 50000 --seed 0 --out gen.npz generator.onnx\n\n" +
			"Writes mu (float64 [D]), sigma (float64 [D, D], np.cov), n and, unless --features=false,\n" +
			"features (float32 [N, D], needed by eval's KID and PRDC) and, with --truncation, truncation (float64 scalar). " + protocolDoc,
		Flags:  append(append(sourceFlags(), inceptionFlags()...), statsFlags()...),
		Action: runStats,
	}
}

// protocolDoc says what tgan feeds the feature network.
const protocolDoc = "Images go in as the official protocol converts them: generator output x -> " +
	"uint8(clamp(x*127.5+127.5, 0, 255)) truncated (dataset images are already uint8), then " +
	"float32 p/255 (--input-range), bilinear resize to --input-size (F.interpolate, align_corners=False), " +
	"NCHW RGB."

func statsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Required: true, Usage: "statistics `FILE` (.npz)"},
		&cli.BoolFlag{Name: "features", Value: true, Usage: "also store the per-image features (KID and PRDC need them; --features=false for mu/sigma only)"},
	}
}

// sourceFlags choose the images: a model (argument) or a dataset.
func sourceFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dataset", Usage: "use a dataset instead of a model: " + kindList()},
		&cli.StringFlag{Name: "data", Usage: "dataset `PATH` (default for fashion-mnist: " + dataset.DefaultFashionMNIST + ")"},
		&cli.IntFlag{Name: "image-size", Usage: "dataset images are resized to this side (default: 32 for cifar10, 28 for (fashion-)mnist)"},
		&cli.IntFlag{Name: "n", Usage: "number of images: generated (default 50000) or the first N of the dataset (default all)"},
		&cli.Int64Flag{Name: "seed", Usage: "seed of the N(0,1) latents (the stream of tgan infer --seed)"},
		truncationFlag(),
		&cli.StringFlag{Name: "z", Usage: "read latents from a float32 [N, latent] .npy instead of sampling"},
		&cli.BoolFlag{Name: "raw-generator", Usage: "checkpoints: sample from the trained G instead of the EMA G"},
	}
}

func runStats(c *cli.Context) error {
	f, what, err := sourceFeatures(c)
	if err != nil {
		return err
	}
	st, err := metrics.Compute(f.Pool, f.N, f.PoolDim)
	if err != nil {
		return err
	}
	st.Truncation = c.Float64("truncation")
	out := c.String("out")
	if err := st.Write(out, c.Bool("features")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d images of %s, %d-d features\n", out, f.N, what, f.PoolDim)
	return nil
}

// imageSource yields n uint8 RGB images (NCHW, 3 x size x size) in order.
type imageSource struct {
	n, size int
	what    string
	// fill writes images [start, start+count) into dst; calls come in order.
	fill  quality.Images
	close func() error
}

// openSource opens the images the flags and argument name: a dataset with
// --dataset, else the model given as the one argument.
func openSource(c *cli.Context) (*imageSource, error) {
	if c.String("dataset") != "" {
		if c.NArg() != 0 {
			return nil, errors.New(c.Command.Name + ": give either MODEL or --dataset, not both")
		}
		if c.Float64("truncation") != 0 {
			return nil, errors.New("--truncation applies to a model's latents, not to --dataset images")
		}
		return datasetSource(c)
	}
	path, err := oneArg(c, "MODEL (or --dataset)")
	if err != nil {
		return nil, err
	}
	return modelSource(c, path)
}

// pixelSource is what dataset.Memory offers: the stored uint8 pixels.
type pixelSource interface {
	Pixels(i int) []uint8
	Channels() int
}

func datasetSource(c *cli.Context) (*imageSource, error) {
	kind, size := c.String("dataset"), c.Int("image-size")
	if size == 0 {
		switch dataset.Kind(kind) {
		case dataset.CIFAR10:
			size = 32
		case dataset.MNIST, dataset.FashionMNIST:
			size = 28
		default:
			return nil, fmt.Errorf("--image-size is required for --dataset %s", kind)
		}
	}
	src, err := dataset.Open(kind, c.String("data"), size)
	if err != nil {
		return nil, err
	}
	px, ok := src.(pixelSource)
	if !ok {
		return nil, fmt.Errorf("dataset %s does not expose its pixels", kind)
	}
	n := src.Len()
	if want := c.Int("n"); want > 0 && want < n {
		n = want
	} else if want < 0 {
		return nil, fmt.Errorf("--n %d: must not be negative", want)
	}
	if n < 2 {
		return nil, fmt.Errorf("dataset %s has %d images; statistics need at least 2", kind, n)
	}
	plane := size * size
	fill := func(dst []uint8, start, count int) error {
		for i := 0; i < count; i++ {
			pix, img := px.Pixels(start+i), dst[i*3*plane:(i+1)*3*plane]
			for ch := 0; ch < 3; ch++ {
				copy(img[ch*plane:(ch+1)*plane], pix[(ch%px.Channels())*plane:])
			}
		}
		return nil
	}
	what := fmt.Sprintf("%s (%dx%d)", kind, size, size)
	return &imageSource{n: n, size: size, what: what, fill: fill, close: func() error { return nil }}, nil
}

func modelSource(c *cli.Context, path string) (*imageSource, error) {
	m, err := openModel(c, path, engine.Generator)
	if err != nil {
		return nil, err
	}
	cfg := m.Config()
	latents, n, err := latentSource(c, cfg.LatentDim)
	if err != nil {
		m.Close()
		return nil, err
	}
	fill := quality.GeneratorImages(m, latents)
	s := cfg.ImageSize
	what := fmt.Sprintf("%s (%dx%d)", path, s, s)
	if t := c.Float64("truncation"); t != 0 {
		what += fmt.Sprintf(", truncation %g", t)
	}
	return &imageSource{n: n, size: s, what: what, fill: fill, close: m.Close}, nil
}

// defaultSamples is the number of generated images of the official protocol.
const defaultSamples = 50000

// latentSource returns the latents of items [start, start+count), from --z
// or drawn in order from the seeded stream (the same values as
// engine.SampleLatents(seed, n, dim, --truncation), without holding all n
// in memory).
func latentSource(c *cli.Context, dim int) (func(start, count int) []float32, int, error) {
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
		n := shape[0]
		if want := c.Int("n"); want > 0 && want < n {
			n = want
		}
		return func(start, count int) []float32 { return z[start*dim : (start+count)*dim] }, n, nil
	}
	n := c.Int("n")
	if n == 0 {
		n = defaultSamples
	}
	if n < 2 {
		return nil, 0, fmt.Errorf("--n %d: statistics need at least 2 images", n)
	}
	stream := quality.NewLatentStream(c.Int64("seed"), dim, t)
	return stream.Take, n, nil
}
