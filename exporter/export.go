package exporter

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/onnx/fused"
)

// Values of the "tgan.network" metadata key.
const (
	GeneratorNetwork     = "generator"
	DiscriminatorNetwork = "discriminator"
)

// Metadata keys written into every exported file (metadata_props).
const (
	KeyVersion    = "tgan.version"           // tgan's version, e.g. "0.1.0"
	KeyConfig     = "tgan.config"            // model.Config as JSON (model.ParseJSON reads it)
	KeyLatentDim  = "tgan.latent_dim"        // decimal
	KeyImageSize  = "tgan.image_size"        // decimal, the side of the square image
	KeyValueRange = "tgan.value_range"       // how to read image values
	KeyNetwork    = "tgan.network"           // GeneratorNetwork or DiscriminatorNetwork
	KeyWeights    = "tgan.weights"           // generator only, set by Export: "avg_gen" or "gen"
	KeyDNoise     = "tgan.d_attention_noise" // two-scale D only: "omitted"
	KeyPrecision  = "tgan.precision"         // PrecisionFP32, or PrecisionFP16 after Float16
)

// ValueRange is the value of KeyValueRange.
const ValueRange = "[-1,1] raw, clamp when converting to pixels"

// Metadata returns the metadata_props of an exported network: KeyConfig,
// KeyLatentDim, KeyImageSize, KeyValueRange, KeyNetwork, KeyPrecision
// (PrecisionFP32; Float16 sets PrecisionFP16) and KeyVersion ("dev" until
// the caller overrides it), plus KeyDNoise "omitted" for a two-scale
// discriminator with noise (DiscriminatorNoise sets "input") and KeyGNoise
// for a generator with a noise input.
func Metadata(cfg *model.Config, network string) map[string]string {
	md := map[string]string{
		KeyVersion:    "dev",
		KeyConfig:     cfg.JSON(),
		KeyLatentDim:  strconv.Itoa(cfg.LatentDim),
		KeyImageSize:  strconv.Itoa(cfg.ImageSize),
		KeyValueRange: ValueRange,
		KeyNetwork:    network,
		KeyPrecision:  PrecisionFP32,
	}
	if network == DiscriminatorNetwork && cfg.DKind == model.DScale2 && !cfg.DNoNoise {
		md[KeyDNoise] = "omitted"
	}
	if network == GeneratorNetwork {
		noiseMetadata(cfg, md)
	}
	return md
}

func merge(base, extra map[string]string) map[string]string {
	for k, v := range extra {
		base[k] = v
	}
	return base
}

// Source is what Export writes: a configuration and the weights of the two
// networks, usually taken from a checkpoint.
type Source struct {
	Config *model.Config
	// Gen is the generator to export (the EMA generator for sampling).
	Gen model.Weights
	// Dis is the discriminator; nil writes no discriminator.onnx (a bare
	// generator checkpoint has none).
	Dis model.Weights
	// FromGen records that Gen holds a checkpoint's "gen" weights (the
	// trained generator, or a bare imported one) rather than "avg_gen" (the
	// EMA): metadata KeyWeights says "gen" instead of "avg_gen".
	FromGen bool
}

// Options configures Export. The zero value writes the two .onnx files only.
type Options struct {
	// Version is stamped as KeyVersion. Default "dev".
	Version string
	// TritonRepo, when set, is a Triton model repository that receives
	// tgan_generator/config.pbtxt and tgan_generator/1/model.onnx.
	TritonRepo string
	// TritonMaxBatch is the Triton max_batch_size. Default 64.
	TritonMaxBatch int
	// Metadata adds metadata_props to both files.
	Metadata map[string]string
	// FP16 writes float16 weights and compute with float32 inputs and
	// outputs (see Float16); KeyPrecision says "fp16".
	FP16 bool
	// Fused, when set, writes the files in ONNX Runtime's fused form for
	// that execution provider (package fused: com.microsoft
	// MultiHeadAttention and SkipLayerNormalization) instead of standard
	// opset-17 operators.
	Fused fused.Target
	// Int8, with Fused CPU (implied when Fused is empty), also stores the
	// weights of every Gemm as int8 (fused.Options.Int8Weights): faster on
	// the CPU, no longer exact. Not with FP16.
	Int8 bool
}

// File names written by Export.
const (
	GeneratorFile     = "generator.onnx"
	DiscriminatorFile = "discriminator.onnx"
	TritonModel       = "tgan_generator"
)

// Export writes outDir/generator.onnx and (when src.Dis is set)
// outDir/discriminator.onnx, each atomically, plus the Triton model when
// opts.TritonRepo is set. It returns the paths written, also on error.
func Export(src Source, outDir string, opts Options) ([]string, error) {
	if src.Config == nil {
		return nil, errorf("no model config")
	}
	if opts.FP16 {
		if err := Float16Refusal(src.Config); err != nil {
			return nil, err
		}
	}
	meta := exportMeta(src, opts)
	gm, err := Generator(src.Config, src.Gen, meta)
	if err != nil {
		return nil, err
	}
	var dm *onnx.Model
	if src.Dis != nil {
		delete(meta, KeyWeights)
		if dm, err = Discriminator(src.Config, src.Dis, meta); err != nil {
			return nil, err
		}
	}
	if opts.FP16 {
		for _, m := range []*onnx.Model{gm, dm} {
			if m != nil {
				if err := Float16(m); err != nil {
					return nil, err
				}
			}
		}
	}
	w := &fileWriter{}
	w.mkdir(outDir)
	form := fused.Options{Target: opts.Fused, Int8Weights: opts.Int8}
	if opts.Int8 && form.Target == "" {
		form.Target = fused.CPU
	}
	gbytes := w.model(filepath.Join(outDir, GeneratorFile), gm, form)
	if dm != nil {
		w.model(filepath.Join(outDir, DiscriminatorFile), dm, form)
	}
	if opts.TritonRepo != "" {
		dir := filepath.Join(opts.TritonRepo, TritonModel)
		w.mkdir(filepath.Join(dir, "1"))
		w.file(filepath.Join(dir, "1", "model.onnx"), gbytes)
		w.file(filepath.Join(dir, "config.pbtxt"), []byte(TritonConfig(src.Config, opts.TritonMaxBatch)))
	}
	return w.written, w.err
}

// exportMeta is the extra metadata of Export: version, which generator
// weights, and opts.Metadata.
func exportMeta(src Source, opts Options) map[string]string {
	meta := map[string]string{KeyVersion: opts.Version, KeyWeights: "avg_gen"}
	if opts.Version == "" {
		meta[KeyVersion] = "dev"
	}
	if src.FromGen {
		meta[KeyWeights] = "gen"
	}
	return merge(meta, opts.Metadata)
}

// fileWriter writes Export's files, keeping the first error (later steps do
// nothing) and the list of files written.
type fileWriter struct {
	written []string
	err     error
}

func (w *fileWriter) mkdir(dir string) {
	if w.err == nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			w.err = errorf("%w", err)
		}
	}
}

// model marshals m (in its fused form for target, when set), writes it to
// path and returns the bytes.
func (w *fileWriter) model(path string, m *onnx.Model, form fused.Options) []byte {
	if w.err != nil {
		return nil
	}
	b, err := marshal(m, form)
	if err != nil {
		w.err = errorf("%w", err)
		return nil
	}
	w.file(path, b)
	return b
}

func (w *fileWriter) file(path string, data []byte) {
	if w.err != nil {
		return
	}
	if err := atomicfile.WriteBytes(path, data); err != nil {
		w.err = errorf("write %s: %w", path, err)
		return
	}
	w.written = append(w.written, path)
}

// Float16Refusal says why cfg's networks have no float16 export (nil when
// they have one): PixelNorm (final-stl, celeba-hq-256, church-256) divides
// by the root mean square of the channels, and the squares of activations
// beyond 256 in magnitude overflow float16's 65504.
func Float16Refusal(cfg *model.Config) error {
	if err := float16Refusal(cfg, GeneratorNetwork); err != nil {
		return err
	}
	return float16Refusal(cfg, DiscriminatorNetwork)
}

func float16Refusal(cfg *model.Config, network string) error {
	norm := cfg.GNorm
	if network == DiscriminatorNetwork {
		norm = cfg.DNorm
	}
	if norm == model.PixelNorm {
		return errorf("float16 export: the %s uses PixelNorm, whose squares overflow float16 above 256; export float32 (--fused cuda runs it on GPUs)", network)
	}
	return nil
}

// TritonConfig returns the config.pbtxt of the generator for NVIDIA Triton's
// ONNX Runtime backend: input "z" (and "noise" for a generator with
// attention noise: the client sends standard-normal draws) and output
// "image" with their dimensions without the batch axis (Triton adds it),
// dynamic batching on. maxBatch <= 0 means 64.
func TritonConfig(cfg *model.Config, maxBatch int) string {
	if maxBatch <= 0 {
		maxBatch = 64
	}
	noise := ""
	if t := GeneratorNoise(cfg); t > 0 {
		noise = fmt.Sprintf(`,
  {
    name: "%s"
    data_type: TYPE_FP32
    dims: [ %d ]
  }`, NoiseInput, t)
	}
	return fmt.Sprintf(`name: "%s"
backend: "onnxruntime"
platform: "onnxruntime_onnx"
max_batch_size: %d
input [
  {
    name: "z"
    data_type: TYPE_FP32
    dims: [ %d ]
  }%s
]
output [
  {
    name: "image"
    data_type: TYPE_FP32
    dims: [ 3, %d, %d ]
  }
]
dynamic_batching { }
`, TritonModel, maxBatch, cfg.LatentDim, noise, cfg.ImageSize, cfg.ImageSize)
}
