package engine

import (
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// Network selects G or D.
type Network int

const (
	// Generator maps z [B, latent] to images [B, 3, S, S].
	Generator Network = iota
	// Discriminator maps images [B, 3, S, S] to logits [B, 1].
	Discriminator
)

func (n Network) String() string {
	if n == Generator {
		return "generator"
	}
	return "discriminator"
}

// Options choose how a model file is run.
type Options struct {
	// Runtime configures ONNX Runtime for .onnx files (provider, library);
	// its IntraOpThreads also sizes OpenBLAS for checkpoints (0: the usable
	// cores, unless $OPENBLAS_NUM_THREADS or $OMP_NUM_THREADS is set).
	Runtime runtime.Options
	// RawGenerator samples from the trained G instead of the EMA G
	// (checkpoints only; an ONNX file holds whichever G was exported).
	RawGenerator bool
	// NoiseSeed seeds the final D's attention noise (checkpoints only; the
	// exported D omits the noise), and the attention noise of a generator
	// that has some (ViT_custom, the 256 families: the "noise" input of an
	// export, explicit inputs of the Gorgonia net), which runtime.DrawNoise
	// derives from this seed and each latent on both backends, so that the
	// same latents give the same images from a checkpoint and its export.
	// The noise is scaled by the learned noise_strength_1, which is 0
	// unless trained.
	NoiseSeed int64
}

// Model runs one network on batches.
type Model interface {
	// Run maps a batch of inputs to outputs; len(in) must be batch times
	// InSize.
	Run(in []float32, batch int) ([]float32, error)
	Config() *model.Config
	InSize() int  // values per input item
	OutSize() int // values per output item
	// Backend describes what runs the model, e.g. "gorgonia (openblas)" or
	// "onnxruntime cuda".
	Backend() string
	Close() error
}

// Open loads path (a tgan checkpoint or an .onnx file) for network n.
func Open(path string, n Network, opts Options) (Model, error) {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return openONNX(path, n, opts)
	}
	ck, err := checkpoint.Load(path)
	if err != nil {
		return nil, err
	}
	return FromCheckpoint(ck, n, opts)
}

// FromCheckpoint runs a loaded checkpoint with Gorgonia.
func FromCheckpoint(ck *checkpoint.Checkpoint, n Network, opts Options) (Model, error) {
	w := ck.Sampler()
	if opts.RawGenerator {
		w = ck.Gen
	}
	if n == Discriminator {
		if ck.Dis == nil {
			return nil, errors.New("the checkpoint has no discriminator (imported from a bare generator state_dict?)")
		}
		w = ck.Dis
	}
	useBLASThreads(opts.Runtime.IntraOpThreads)
	return &gorgoniaModel{cfg: ck.Config, w: w, network: n, nets: map[int]*gmodel.Net{}, noiseSeed: opts.NoiseSeed}, nil
}

// gorgoniaModel builds one Gorgonia net per batch size it sees.
type gorgoniaModel struct {
	cfg       *model.Config
	w         model.Weights
	network   Network
	nets      map[int]*gmodel.Net
	noiseSeed int64
	runs      int64
}

func (m *gorgoniaModel) Config() *model.Config { return m.cfg }
func (m *gorgoniaModel) Backend() string       { return "gorgonia (" + gmodel.BLASName + ")" }
func (m *gorgoniaModel) Close() error          { m.nets = nil; return nil }

func (m *gorgoniaModel) InSize() int {
	if m.network == Generator {
		return m.cfg.LatentDim
	}
	return 3 * m.cfg.ImageSize * m.cfg.ImageSize
}

func (m *gorgoniaModel) OutSize() int {
	if m.network == Generator {
		return 3 * m.cfg.ImageSize * m.cfg.ImageSize
	}
	return 1
}

func (m *gorgoniaModel) Run(in []float32, batch int) ([]float32, error) {
	if len(in) != batch*m.InSize() {
		return nil, fmt.Errorf("%s input: %d values for batch %d, want %d", m.network, len(in), batch, batch*m.InSize())
	}
	if limit := gorgoniaMaxBatch(m.cfg); batch > limit {
		return m.runChunks(in, batch, limit)
	}
	// Nets are built for power-of-two batch sizes and smaller batches are
	// zero-padded: a server sees every size from 1 to its max batch, and
	// one compiled net per size would hold that many copies of the
	// activations.
	size := 1
	for size < batch {
		size *= 2
	}
	if size > batch {
		padded := make([]float32, size*m.InSize())
		copy(padded, in)
		out, err := m.Run(padded, size)
		if err != nil {
			return nil, err
		}
		return out[:batch*m.OutSize()], nil
	}
	net, ok := m.nets[batch]
	if !ok {
		var err error
		if m.network == Generator {
			net, err = gmodel.BuildGenerator(m.cfg, m.w, batch, gmodel.Inference())
		} else {
			net, err = gmodel.BuildDiscriminator(m.cfg, m.w, batch)
		}
		if err != nil {
			return nil, err
		}
		m.nets[batch] = net
	}
	if m.network == Discriminator {
		// A fresh, reproducible noise draw per run (seed, run index).
		net.SetNoise(rand.New(rand.NewSource(m.noiseSeed + m.runs)))
		m.runs++
	} else if err := setGeneratorNoise(net, in, batch, m.noiseSeed); err != nil {
		return nil, err
	}
	return net.Forward(in)
}

// gorgoniaMaxBatch is the largest batch one Gorgonia net runs: the tape
// machine keeps every activation of the pass, over 7 GB for one image of
// a full-size 256x256 generator, so large images run a few at a time (16
// images of 64x64, as many pixels above rounded down to a power of two as
// the nets are; 1 at 256x256).
func gorgoniaMaxBatch(cfg *model.Config) int {
	s := max(1, cfg.ImageSize)
	limit := 1
	for 2*limit <= 16*64*64/(s*s) {
		limit *= 2
	}
	return limit
}

// runChunks runs a batch larger than limit as consecutive passes of at
// most limit items. A generator's images, their attention noise included,
// depend only on their own latents, so they are those of one pass (the
// final D's noise is drawn per pass, as at any batch size).
func (m *gorgoniaModel) runChunks(in []float32, batch, limit int) ([]float32, error) {
	per := m.InSize()
	out := make([]float32, 0, batch*m.OutSize())
	for start := 0; start < batch; start += limit {
		b := min(limit, batch-start)
		res, err := m.Run(in[start*per:(start+b)*per], b)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// setGeneratorNoise fills the attention noise of a generator that has
// some (ViT_custom, the 256 families) with the draws an exported
// generator's "noise" input gets from ONNX Runtime (runtime.DrawNoise of
// the seed and each latent, [B, T] with the noised attentions in forward
// order, each in image-token order), rearranged per attention as
// gmodel.Net.SetNoiseDraws takes them ([B, Tokens] each): so a checkpoint
// and its export give the same images for the same latents and seed.
func setGeneratorNoise(net *gmodel.Net, z []float32, batch int, seed int64) error {
	sites := net.NoiseSites()
	if len(sites) == 0 {
		return nil
	}
	t := 0
	for _, s := range sites {
		t += s.Tokens
	}
	drawn := runtime.DrawNoise(seed, z, len(z)/batch, t)
	draws := make([]float32, 0, len(drawn))
	off := 0
	for _, s := range sites {
		for b := 0; b < batch; b++ {
			draws = append(draws, drawn[b*t+off:b*t+off+s.Tokens]...)
		}
		off += s.Tokens
	}
	return net.SetNoiseDraws(draws)
}
