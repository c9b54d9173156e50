package trainer

import (
	"fmt"
	"math/rand"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
	G "gorgonia.org/gorgonia"
)

// Multi-task co-training (MT-CT) of the v1 paper, an option (Options.SRWeight
// > 0). The paper adds to G an auxiliary super-resolution task: G also
// reconstructs real images from their low-resolution versions, with an MSE
// loss. The official code never released it (and the final paper dropped
// it), so the design is tgan's:
//
//   - the iteration's real batch [DisBatch, 3, S, S] (before DiffAugment) is
//     box-averaged to G's bottom resolution w x w (w = bottom_width);
//   - each low-resolution pixel becomes a bottom token through sr_embed, a
//     linear map 3 -> g_dim (weight [g_dim, 3], bias [g_dim]), in place of
//     l1(z); then + pos_embed_1 and the same G blocks, upsampling and deconv
//     (gmodel.BuildSRGenerator: the same weight tensors as the z path);
//   - the loss is SRWeight * mean((G_sr(low) - real)^2), added to the
//     adversarial G loss at every G step: its gradients are summed with the
//     adversarial ones before the joint norm clipping, and sr_embed takes an
//     Adam step with G's hyper-parameters (OptSR, in lockstep with OptG).
//
// sr_embed is training state, not part of the generator: it is not in the
// official state_dict, sampling never uses it, and it has no EMA. It is
// saved in the checkpoint's extra tensors ("sr.sr_embed.weight",
// "sr.sr_embed.bias", Adam moments "opt.sr.m.*"/"opt.sr.v.*"), only when
// the option is on; the gen/avg_gen groups keep exactly G's official
// tensors, so export, import and sampling see no difference.

// Checkpoint key prefixes of the SR tensors.
const (
	srPrefix    = "sr."
	srOptPrefix = optPrefix + "sr."
)

// DefaultSRWeight is the weight suggested when MT-CT is switched on without
// a value (the paper does not give one).
const DefaultSRWeight = 1.0

// initSR creates sr_embed (drawn from its own seed stream, so that G, D, the
// data order and z are the same as without the option), its optimizer and
// the SR graph. It does nothing when the option is off.
func (t *Trainer) initSR() error {
	if t.Opts.SRWeight <= 0 {
		return nil
	}
	cfg, o := t.Config, t.Opts
	params := gmodel.SRParams(cfg)
	var err error
	t.SR = model.InitWeights(params, rand.New(rand.NewSource(mix(o.Seed, -5))))
	w := make(model.Weights, len(t.Gen)+len(t.SR))
	for k, v := range t.Gen { // shared tensors: G's updates reach the SR graph
		w[k] = v
	}
	for k, v := range t.SR {
		w[k] = v
	}
	if t.srNet, err = buildSR(cfg, o, w); err != nil {
		return fmt.Errorf("SR graph: %w", err)
	}
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	t.OptSR = NewAdam(o.LRG, o.Beta1, o.Beta2, o.AdamEps, t.SR, names)
	return nil
}

// buildSR is the MT-CT graph: the low-resolution batch through G's SR
// path, cost SRWeight * MSE to the real batch (an input node), the
// unweighted MSE as a statistic.
func buildSR(cfg *model.Config, o Options, w model.Weights) (*gradNet, error) {
	net, err := gmodel.BuildSRGenerator(cfg, w, o.DisBatch)
	if err != nil {
		return nil, err
	}
	S := cfg.ImageSize
	gn := &gradNet{name: "sr", net: net, input: net.Input}
	srTarget := imageInput(net.Graph, "sr_target", o.DisBatch, S)
	mse := mseGraph(net.Output, srTarget)
	gn.target = srTarget
	gn.cost = G.Must(G.Mul(mse, G.NewConstant(float32(o.SRWeight))))
	gn.stats = map[string]*G.Node{statMSE: mse}
	return gn, gn.compile(false)
}

// srStep runs the SR task on the real batch at the given mask epoch and
// returns the unweighted MSE; the gradients of the weighted loss (G's and
// sr_embed's) stay in the graph's buffers for the G update.
func (t *Trainer) srStep(real []float32, epoch int) (float64, error) {
	S := t.Config.ImageSize
	low, err := gmodel.Downsample(real, t.Opts.DisBatch, S, t.Config.BottomWidth)
	if err != nil {
		return 0, err
	}
	copy(denseData(t.srNet.target.Value()), real)
	t.srNet.setInput(low)
	t.srNet.net.SetEpoch(epoch)
	if err := t.srNet.run(); err != nil {
		return 0, fmt.Errorf("SR task: %w", err)
	}
	return t.srNet.stat(statMSE), nil
}

// saveSR puts the SR tensors and their Adam moments into a checkpoint's
// extra tensors (nothing when the option is off).
func (t *Trainer) saveSR(extra map[string]*model.Tensor) {
	if t.SR == nil {
		return
	}
	for name, p := range t.SR {
		extra[srPrefix+name] = p
		extra[srOptPrefix+"m."+name] = &model.Tensor{Shape: p.Shape, F32: t.OptSR.M[name]}
		extra[srOptPrefix+"v."+name] = &model.Tensor{Shape: p.Shape, F32: t.OptSR.V[name]}
	}
}

// loadSR copies sr_embed from ck into t.SR. With moments, Adam's moments
// too (a resume: everything must be there); without (--init), a checkpoint
// lacking sr_embed leaves the fresh initialisation.
func (t *Trainer) loadSR(ck *checkpoint.Checkpoint, moments bool) error {
	if t.SR == nil {
		return nil
	}
	for _, name := range sortedKeys(t.SR) {
		dst := t.SR[name].F32
		src := ck.Extra[srPrefix+name]
		if src == nil && !moments {
			continue
		}
		if src == nil || len(src.F32) != len(dst) {
			return fmt.Errorf("checkpoint lacks the SR tensor %q (sr_weight %g)", srPrefix+name, t.Opts.SRWeight)
		}
		copy(dst, src.F32)
		if !moments {
			continue
		}
		m, v := ck.Extra[srOptPrefix+"m."+name], ck.Extra[srOptPrefix+"v."+name]
		if m == nil || v == nil || len(m.F32) != len(dst) || len(v.F32) != len(dst) {
			return fmt.Errorf("checkpoint lacks Adam moments of sr %q", name)
		}
		copy(t.OptSR.M[name], m.F32)
		copy(t.OptSR.V[name], v.F32)
	}
	return nil
}
