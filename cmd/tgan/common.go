package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/runtime"
	"github.com/urfave/cli/v2"
)

// runtimeFlags are the ONNX Runtime flags shared by infer, score, serve, bench.
func runtimeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "provider", Value: "cpu", Usage: ".onnx models: cpu, cuda (fails with the reason if CUDA cannot run) or auto (CUDA, else CPU with the reason)"},
		deviceFlag(),
		&cli.StringFlag{Name: "ort-lib", Usage: "path of libonnxruntime.so (default: $" + runtime.LibraryEnvVar + ", next to the executable, .ort/ from scripts/setup.sh, the system loader; see tgan version)"},
		&cli.IntFlag{Name: "threads", Usage: "threads per operator: ONNX Runtime intra-op threads, OpenBLAS threads for checkpoints (0: the CPUs this process may use, after its affinity mask and cgroup CPU quota)"},
		&cli.Int64Flag{Name: "noise-seed", Usage: "seed of the attention noise (scaled by the learned strength): final D from checkpoints; generators with attention noise " +
			"(ViT_custom, celeba-hq-256, church-256), checkpoint or export alike, where each image's noise follows from this seed and its latent " +
			"(same --seed, same images on both backends)"},
		verboseFlag(),
	}
}

// deviceFlag is --device, the CUDA device of --provider cuda and auto.
func deviceFlag() cli.Flag {
	return &cli.IntFlag{Name: "device", Usage: "CUDA device id `N` for --provider cuda or auto (0: the first GPU; CUDA_VISIBLE_DEVICES renumbers them)"}
}

// checkDevice refuses a negative --device.
func checkDevice(c *cli.Context) error {
	if d := c.Int("device"); d < 0 {
		return fmt.Errorf("--device %d: a CUDA device id is 0 or more", d)
	}
	return nil
}

func engineOptions(c *cli.Context) (engine.Options, error) {
	p, err := runtime.ParseProvider(c.String("provider"))
	if err != nil {
		return engine.Options{}, err
	}
	if err := checkDevice(c); err != nil {
		return engine.Options{}, err
	}
	setVerbose(c)
	return engine.Options{
		Runtime: runtime.Options{
			LibraryPath: c.String("ort-lib"), Provider: p, DeviceID: c.Int("device"), IntraOpThreads: c.Int("threads"),
		},
		RawGenerator: c.Bool("raw-generator"),
		NoiseSeed:    c.Int64("noise-seed"),
	}, nil
}

// openModel opens path for network n with the command's runtime flags and
// reports the backend on stderr. path may be a training run folder (its
// latest checkpoint is used, see resolveCheckpoint). The caller closes the
// model.
func openModel(c *cli.Context, path string, n engine.Network) (engine.Model, error) {
	opts, err := engineOptions(c)
	if err != nil {
		return nil, err
	}
	if path, err = resolveCheckpoint(path); err != nil {
		return nil, err
	}
	announceLarge(path)
	m, err := engine.Open(path, n, opts)
	if err != nil {
		return nil, err
	}
	reportBackend(m)
	return m, nil
}

// largeModelBytes is the file size from which opening a model is announced:
// a full-size 256 model (about 0.9 GB) takes a minute or more to load and,
// for ONNX Runtime, to optimise, with nothing else on the screen.
const largeModelBytes = 200 << 20

// announceLarge says on stderr that a large model file is being opened.
func announceLarge(path string) {
	if st, err := os.Stat(path); err == nil && st.Size() >= largeModelBytes {
		fmt.Fprintf(os.Stderr, "opening %s (%.1f GB; large models take a while to load)\n", path, float64(st.Size())/(1<<30))
	}
}

// reportBackend tells the user what runs the model, in which form, and
// why auto fell back.
func reportBackend(m engine.Model) {
	fmt.Fprintf(os.Stderr, "backend: %s\n", m.Backend())
	if f := engine.FusedForm(m); f != "" {
		fmt.Fprintf(os.Stderr, "onnx runtime: the file runs in its fused attention form for %s (%s=off runs it as it is)\n", f, runtime.FuseEnv)
	}
	if r := engine.FallbackReason(m); r != "" {
		fmt.Fprintf(os.Stderr, "provider auto: CUDA unavailable, using CPU: %s\n", r)
	}
}

// batchFlag is --batch of infer and score. Unset, it follows the image
// size (batchSize): a 256x256 model runs one image at a time, so memory
// stays bounded and the progress bar moves with every image.
func batchFlag() cli.Flag {
	return &cli.IntFlag{Name: "batch", DefaultText: "16; 4 at 128x128, 1 at 256x256",
		Usage: "images per forward pass (a 256x256 model takes seconds per image on a CPU)"}
}

// batchSize is --batch, or when unset 16 images up to 64x64 and as many
// pixels per pass above (at least 1).
func batchSize(c *cli.Context, imageSize int) int {
	if c.IsSet("batch") {
		return c.Int("batch")
	}
	return max(1, min(16, 16*64*64/max(1, imageSize*imageSize)))
}

// runBatches runs n items of in through m, batch at a time, with a progress
// bar on stderr when there is more than one batch.
func runBatches(m engine.Model, in []float32, n, batch int, what string) ([]float32, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("--batch %d: must be positive", batch)
	}
	var bar *progressbar.ProgressBar
	if n > batch {
		bar = newImageBar(os.Stderr, n, what)
	}
	inSize, outSize := m.InSize(), m.OutSize()
	out := make([]float32, 0, n*outSize)
	for start := 0; start < n; start += batch {
		b := min(batch, n-start)
		res, err := m.Run(in[start*inSize:(start+b)*inSize], b)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
		if bar != nil {
			bar.Add(b)
		}
	}
	return out, nil
}

// newImageBar is a progress bar counting images on w. It is drawn once at
// creation, which starts its clock: otherwise the clock starts at the first
// update and the first line divides a whole batch by a few microseconds.
func newImageBar(w io.Writer, n int, what string) *progressbar.ProgressBar {
	bar := progressbar.NewOptions(n, progressbar.OptionSetDescription(what),
		progressbar.OptionSetWriter(w), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"), progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
	_ = bar.RenderBlank()
	return bar
}

// resolveCheckpoint returns the checkpoint file named by arg: arg itself
// when it is a file, or, for a run folder, the checkpoint its "latest" entry
// names (a symlink, or a text file holding the checkpoint's name relative to
// the folder or an absolute path).
func resolveCheckpoint(arg string) (string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if !st.IsDir() {
		return arg, nil
	}
	latest := filepath.Join(arg, "latest")
	lst, err := os.Lstat(latest)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s is a folder without a 'latest' entry: pass a checkpoint file", arg)
		}
		return "", err
	}
	var target string
	if lst.Mode()&os.ModeSymlink != 0 {
		target, err = os.Readlink(latest)
	} else {
		var b []byte
		b, err = os.ReadFile(latest)
		target = strings.TrimSpace(string(b))
	}
	if err != nil {
		return "", err
	}
	if target == "" {
		return "", fmt.Errorf("%s is empty", latest)
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(arg, target)
	}
	if _, err := os.Stat(target); err != nil {
		return "", fmt.Errorf("%s names a missing checkpoint: %w", latest, err)
	}
	return target, nil
}
