package trainer

import (
	"fmt"
	"sort"
)

// updater is one net's update: the gradient sources it sums, the norm
// graph whose result sets the clipping coefficient, and the update graph.
type updater struct {
	names   []string // parameters updated, sorted
	sources []gradSource
	norm    *sumGraph
	update  *sumGraph
}

// buildUpdate creates the accumulation, norm and update graphs over the
// step graphs' gradient buffers and the trainer's state (update.go).
func (t *Trainer) buildUpdate() {
	o := t.Opts
	size := func(w func(string) []float32) func(string) int { return func(p string) int { return len(w(p)) } }
	// D: the D step's and the penalty's gradients, or their running sum
	// with the G loss's leak.
	dSources := []gradSource{{"d_step", t.dTrain.gradBuf}}
	if t.pen != nil {
		dSources = append(dSources, gradSource{"penalty", t.pen.gradBuf})
	}
	if o.Accumulate > 1 || o.GradLeak {
		t.accD = gradBuffers(t.dTrain.names, size(func(p string) []float32 { return t.Dis[p].F32 }))
		t.dAccNet = newAccNet("d_accumulate", t.accD, dSources)
		if o.GradLeak {
			t.leakNet = newAccNet("d_leak", t.accD, []gradSource{{"leak", t.gTrain.leakBuf}})
		}
		dSources = []gradSource{{"acc", t.accD}}
	}
	t.dUpd = newUpdater("d", t.dTrain.names, dSources, func(p string) adamState {
		return adamState{w: t.Dis[p].F32, m: t.OptD.M[p], v: t.OptD.V[p]}
	}, o)
	// G: the G step's gradients (summed over micro-batches), and the SR
	// task's (G's tensors and sr_embed).
	gSources := []gradSource{{"g_step", t.gTrain.gradBuf}}
	if o.GAccumulate > 1 {
		t.accG = gradBuffers(t.gTrain.names, size(func(p string) []float32 { return t.Gen[p].F32 }))
		t.gAccNet = newAccNet("g_accumulate", t.accG, gSources)
		gSources = []gradSource{{"g_acc", t.accG}}
	}
	names := append([]string(nil), t.gTrain.names...)
	if t.srNet != nil {
		gSources = append(gSources, gradSource{"sr", t.srNet.gradBuf})
		for _, p := range t.srNet.names {
			if _, ok := t.Gen[p]; !ok {
				names = append(names, p)
			}
		}
		sort.Strings(names)
	}
	t.gUpd = newUpdater("g", names, gSources, func(p string) adamState {
		if w, ok := t.Gen[p]; ok {
			return adamState{w: w.F32, m: t.OptG.M[p], v: t.OptG.V[p], ema: t.AvgGen[p].F32}
		}
		return adamState{w: t.SR[p].F32, m: t.OptSR.M[p], v: t.OptSR.V[p]}
	}, o)
}

func newUpdater(net string, names []string, sources []gradSource, state func(string) adamState, o Options) *updater {
	return &updater{
		names: names, sources: sources,
		norm:   newNormNet(net+"_norm", names, sources),
		update: newUpdateNet(net+"_update", names, sources, state, o.Beta1, o.Beta2, o.AdamEps),
	}
}

// accumulateD adds the scaled sources of acc (the D micro-batch's
// gradients, or the leak) into accD, starting a new sum when none is
// pending.
func (t *Trainer) accumulateD(acc *sumGraph, scales ...float32) error {
	keep := float32(0)
	if t.accPending {
		keep = 1
	}
	if err := acc.set(map[string]float32{"keep": keep}); err != nil {
		return err
	}
	if err := acc.setScales(scales...); err != nil {
		return err
	}
	if err := acc.run(); err != nil {
		return err
	}
	t.accPending = true
	return nil
}

// step computes the norm of u's summed sources (scales), and, when it is
// finite, clips by Opts.ClipNorm and applies Adam's next step of a (and
// the extra scalars: the EMA decay) in u's update graph. It returns the
// norm before clipping; a non-finite norm changes nothing.
func (t *Trainer) step(u *updater, a *Adam, scales []float32, net string, extra map[string]float32) (float64, error) {
	if err := u.norm.setScales(scales...); err != nil {
		return 0, err
	}
	if err := u.norm.run(); err != nil {
		return 0, err
	}
	norm := float64(u.norm.exec.value(u.norm.outs[0].node)[0])
	coef := clipCoef(norm, t.Opts.ClipNorm)
	if t.gradsHook != nil {
		t.gradsHook(net, u.view(scales, coef))
	}
	if !finite(norm) {
		return norm, ErrNonFinite
	}
	a.Step++
	sc := adamScalars(a)
	sc["coef"] = coef
	if _, ok := extra["beta"]; !ok {
		sc["beta"] = 0
	}
	for k, v := range extra {
		sc[k] = v
	}
	if err := u.update.set(sc); err != nil {
		return norm, err
	}
	if err := u.update.setScales(scales...); err != nil {
		return norm, err
	}
	if err := u.update.run(); err != nil {
		return norm, fmt.Errorf("update: %w", err)
	}
	return norm, nil
}

// view computes in Go the clipped gradients the update applies (coef *
// sum_k scales_k*src_k, in the graph's order of operations), for the
// gradsHook of tests.
func (u *updater) view(scales []float32, coef float32) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range u.names {
		var g []float32
		for k, src := range u.sources {
			buf, ok := src.bufs[p]
			if !ok {
				continue
			}
			if g == nil {
				g = make([]float32, len(buf))
				for i, v := range buf {
					g[i] = v * scales[k]
				}
				continue
			}
			for i, v := range buf {
				g[i] += v * scales[k]
			}
		}
		if g == nil {
			continue
		}
		for i := range g {
			g[i] *= coef
		}
		out[p] = g
	}
	return out
}
