// Package quality measures how good a generator's images are, the same way
// for `tgan stats` / `tgan eval` and for the evaluations during `tgan train`:
//
//	latents (seeded stream) -> generator (engine.Model) -> uint8 images
//	-> feature network (metrics.Network) -> features -> FD / KID / IS
//	against reference statistics (metrics.Stats)
//
// Because both paths share this code, the FD that training logs equals
// `tgan stats` + `tgan fid` on the saved checkpoint with the same seed, n
// and batch.
package quality

import (
	"context"
	"fmt"
	"math/rand"

	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/runtime"
)

// Network is a feature network opened on its own ONNX Runtime environment.
type Network struct {
	*metrics.Network
	Path     string
	Provider runtime.Provider
	// Fallback says why provider auto runs on the CPU ("" otherwise).
	Fallback string
	env      *runtime.Env
}

// OpenNetwork opens the feature network in path (input [B, 3, H, W], named
// pool and logits outputs, see metrics.NetworkOptions).
func OpenNetwork(path string, rt runtime.Options, o metrics.NetworkOptions) (*Network, error) {
	env, err := runtime.Open(rt)
	if err != nil {
		return nil, err
	}
	m, err := env.OpenModel(path)
	if err != nil {
		env.Close()
		return nil, err
	}
	net, err := metrics.NewNetwork(m, o)
	if err != nil {
		env.Close()
		return nil, err
	}
	return &Network{Network: net, Path: path, Provider: m.Provider(), Fallback: m.FallbackReason(), env: env}, nil
}

// Describe is a one-line account of what the network is fed and gives.
func (n *Network) Describe() string {
	o := n.Options()
	size := "the images' own size"
	if o.InputSize > 0 {
		size = fmt.Sprintf("%dx%d", o.InputSize, o.InputSize)
	}
	logits := o.Logits
	if logits == "" {
		logits = "no logits"
	}
	return fmt.Sprintf("%s on %s, input RGB %s in [%s], outputs %s, %s", n.Path, n.Provider, size, o.Range, o.Pool, logits)
}

// Close releases the network and its environment.
func (n *Network) Close() error { return n.env.Close() }

// Images writes images [start, start+count) as uint8 NCHW RGB into dst;
// calls come in order.
type Images func(dst []uint8, start, count int) error

// GeneratorImages returns the images of generator g for the latents that
// latents yields (items [start, start+count)), converted as the official
// protocol does: uint8(clamp(x*127.5+127.5, 0, 255)), truncated.
func GeneratorImages(g engine.Model, latents func(start, count int) []float32) Images {
	return func(dst []uint8, start, count int) error {
		x, err := g.Run(latents(start, count), count)
		if err != nil {
			return err
		}
		for i, v := range x {
			dst[i] = imageio.ToUint8(v)
		}
		return nil
	}
}

// LatentStream draws latents in order from one seeded generator: the
// values of engine.SampleLatents(seed, n, dim, truncation), without holding
// all n.
type LatentStream struct {
	rng        *rand.Rand
	dim        int
	truncation float64
	next       int
	buf        []float32
}

// NewLatentStream starts the stream of seed for latents of dimension dim,
// drawn from N(0, 1) with truncation t (0: none; see engine.Normal).
func NewLatentStream(seed int64, dim int, t float64) *LatentStream {
	return &LatentStream{rng: rand.New(rand.NewSource(seed)), dim: dim, truncation: t}
}

// Take returns the latents of items [start, start+count); start must be
// where the previous call ended (the returned slice is reused).
func (l *LatentStream) Take(start, count int) []float32 {
	if start != l.next {
		panic(fmt.Sprintf("latent stream: items from %d requested, the stream is at %d", start, l.next))
	}
	l.next += count
	l.buf = l.buf[:0]
	for i := 0; i < count*l.dim; i++ {
		l.buf = append(l.buf, engine.Normal(l.rng, l.truncation))
	}
	return l.buf
}

// Want selects the metrics to compute.
type Want struct{ FD, KID, IS, PRDC bool }

// ScoreOptions configure KID, IS and precision/recall/density/coverage.
type ScoreOptions struct {
	KID      metrics.KIDOptions
	ISSplits int // default 10
	PRK      int // neighbourhood size of PRDC; default metrics.DefaultPRK
	// PRRef, when set for PRK, holds the reference features' balls from an
	// earlier Score (Result.PRRef), so repeated scoring skips them.
	PRRef *metrics.Manifold
}

// NoFeatures is the error of KID and PRDC when the reference statistics
// keep no per-image features.
const NoFeatures = "has no features (TTUR / pytorch-fid files hold only mu and sigma): " +
	"make the reference with tgan stats, which keeps them (--features, on by default)"

// Result holds the metrics computed (nil: not computed).
type Result struct {
	FD            *float64
	KIDMean       *float64
	KIDStd        *float64
	KIDSubsetSize int
	ISMean        *float64
	ISStd         *float64
	// PRDC holds precision, recall, density and coverage; PRRef the
	// reference's balls they used (for ScoreOptions.PRRef).
	PRDC  *metrics.PRDC
	PRRef *metrics.Manifold
	// Stats are the generated images' statistics (with features), when FD
	// was computed.
	Stats *metrics.Stats
}

// Score computes the wanted metrics of features f against ref (FD, KID)
// and from f's logits (IS).
func Score(f *metrics.Features, ref *metrics.Stats, want Want, o ScoreOptions) (Result, error) {
	var res Result
	needRef := want.FD || want.KID || want.PRDC
	if needRef && ref == nil {
		return res, fmt.Errorf("fd, kid and prdc need reference statistics")
	}
	if needRef && ref.Dim() != f.PoolDim {
		return res, fmt.Errorf("reference statistics are %d-d, the network gives %d-d features", ref.Dim(), f.PoolDim)
	}
	if want.FD {
		gen, err := metrics.Compute(f.Pool, f.N, f.PoolDim)
		if err != nil {
			return res, err
		}
		v, err := metrics.FrechetDistance(gen, ref)
		if err != nil {
			return res, err
		}
		res.FD, res.Stats = &v, gen
	}
	if want.KID {
		if ref.Features == nil {
			return res, fmt.Errorf("kid: the reference statistics %s", NoFeatures)
		}
		nb := len(ref.Features) / ref.Dim()
		mean, std, err := metrics.KID(f.Pool, f.N, ref.Features, nb, f.PoolDim, o.KID)
		if err != nil {
			return res, err
		}
		res.KIDMean, res.KIDStd = &mean, &std
		size := o.KID.SubsetSize
		if size == 0 {
			size = 1000
		}
		res.KIDSubsetSize = min(size, f.N, nb)
	}
	if want.PRDC {
		if err := scorePRDC(&res, f, ref, o); err != nil {
			return res, err
		}
	}
	if want.IS {
		splits := o.ISSplits
		if splits == 0 {
			splits = 10
		}
		mean, std, err := metrics.InceptionScore(f.Logits, f.N, f.Classes, splits)
		if err != nil {
			return res, err
		}
		res.ISMean, res.ISStd = &mean, &std
	}
	return res, nil
}

// scorePRDC computes precision, recall, density and coverage of f's pool
// features against ref's features, reusing o.PRRef when it fits.
func scorePRDC(res *Result, f *metrics.Features, ref *metrics.Stats, o ScoreOptions) error {
	if ref.Features == nil {
		return fmt.Errorf("prdc: the reference statistics %s", NoFeatures)
	}
	k := o.PRK
	if k == 0 {
		k = metrics.DefaultPRK
	}
	real := o.PRRef
	if real == nil || real.K() != k || real.N() != len(ref.Features)/ref.Dim() {
		var err error
		if real, err = metrics.NewManifold(ref.Features, len(ref.Features)/ref.Dim(), ref.Dim(), k); err != nil {
			return fmt.Errorf("prdc: reference features: %w", err)
		}
	}
	fake, err := metrics.NewManifold(f.Pool, f.N, f.PoolDim, k)
	if err != nil {
		return fmt.Errorf("prdc: generated features: %w", err)
	}
	v, err := metrics.ComparePRDC(real, fake)
	if err != nil {
		return err
	}
	res.PRDC, res.PRRef = &v, real
	return nil
}

// Evaluator scores generators: N images from the latent stream of Seed,
// Batch at a time, through Net, against Ref.
type Evaluator struct {
	Net     *Network
	Ref     *metrics.Stats
	RefPath string // named in errors
	N       int
	Seed    int64
	Batch   int
	Score   ScoreOptions
	prRef   *metrics.Manifold // the reference's balls, kept between evaluations
}

// Check runs two blank images of side imageSize through the network and
// verifies what an evaluation will need, so that bad input fails before
// training starts: the pool features have Ref's dimension, and N images
// are enough for the statistics (and IS splits).
func (e *Evaluator) Check(imageSize int) error {
	if e.N < 2 {
		return fmt.Errorf("evaluation: %d images; statistics need at least 2", e.N)
	}
	if e.Batch < 1 {
		return fmt.Errorf("evaluation: batch %d must be positive", e.Batch)
	}
	f, err := e.Net.Run(make([]uint8, 2*3*imageSize*imageSize), 2, imageSize)
	if err != nil {
		return fmt.Errorf("%s: %w", e.Net.Path, err)
	}
	if f.PoolDim != e.Ref.Dim() {
		return fmt.Errorf("%s: the statistics are %d-d, the network %s gives %d-d %s features (statistics of another network?)",
			e.RefPath, e.Ref.Dim(), e.Net.Path, f.PoolDim, e.Net.Options().Pool)
	}
	return nil
}

// Want is what the evaluator can compute: FD always, KID and PRDC when the
// reference keeps its features (and, for PRDC, both sets have more than k
// of them), IS when the network has logits and N allows the splits.
func (e *Evaluator) Want() Want {
	splits := e.Score.ISSplits
	if splits == 0 {
		splits = 10
	}
	k := e.Score.PRK
	if k == 0 {
		k = metrics.DefaultPRK
	}
	feats := e.Ref.Features != nil
	prdc := feats && e.N > k && len(e.Ref.Features)/e.Ref.Dim() > k
	return Want{FD: true, KID: feats, IS: e.Net.Options().Logits != "" && e.N >= splits, PRDC: prdc}
}

// Evaluate generates the evaluator's images with g and scores them.
func (e *Evaluator) Evaluate(ctx context.Context, g engine.Model) (Result, error) {
	cfg := g.Config()
	stream := NewLatentStream(e.Seed, cfg.LatentDim, 0)
	f, err := e.Net.Extract(ctx, e.N, cfg.ImageSize, e.Batch, GeneratorImages(g, stream.Take), nil)
	if err != nil {
		return Result{}, err
	}
	o := e.Score
	o.PRRef = e.prRef
	res, err := Score(f, e.Ref, e.Want(), o)
	if res.PRRef != nil {
		e.prRef = res.PRRef
	}
	return res, err
}
