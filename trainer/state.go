package trainer

import (
	"fmt"
	"sort"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/model"
)

// MetaState is the checkpoint metadata key of the trainer's state (JSON);
// the schema lives in internal/checkpoint.
const MetaState = checkpoint.MetaState

// optPrefix begins the names of optimizer tensors in checkpoints.
const optPrefix = checkpoint.OptPrefix

// State is the part of a Trainer that is not a tensor.
type State = checkpoint.State[Options]

// Checkpoint returns the whole training state as a checkpoint. Its tensors
// alias the Trainer's: save it before the next Step. When the executor
// keeps the state in device memory it is copied back first (SyncWeights);
// should that fail, the next Step returns the error.
func (t *Trainer) Checkpoint() *checkpoint.Checkpoint {
	if err := t.SyncWeights(); err != nil {
		t.stateErr = err
	}
	st := State{Options: t.Opts, Iter: t.Iter, GSteps: t.GSteps, AdamGStep: t.OptG.Step, AdamDStep: t.OptD.Step}
	if t.OptSR != nil {
		st.AdamSR = t.OptSR.Step
	}
	if t.Loader != nil {
		st.Loader = t.Loader.State()
	}
	extra := map[string]*model.Tensor{
		checkpoint.FixedZ: {Shape: []int{t.Opts.Samples, t.Config.LatentDim}, F32: t.FixedZ},
	}
	for net, a := range map[string]*Adam{checkpoint.OptGen: t.OptG, checkpoint.OptDis: t.OptD} {
		w := t.Gen
		if net == checkpoint.OptDis {
			w = t.Dis
		}
		for name, m := range a.M {
			shape := w[name].Shape
			extra[checkpoint.OptKey(net, "m", name)] = &model.Tensor{Shape: shape, F32: m}
			extra[checkpoint.OptKey(net, "v", name)] = &model.Tensor{Shape: shape, F32: a.V[name]}
		}
	}
	t.saveSR(extra)
	t.saveAcc(extra)
	ck := &checkpoint.Checkpoint{Config: t.Config, Gen: t.Gen, AvgGen: t.AvgGen, Dis: t.Dis, Extra: extra}
	_ = checkpoint.WriteState(ck, st) // plain fields: cannot fail
	return ck
}

// Resume rebuilds a Trainer from a checkpoint written by Checkpoint, reading
// further batches from src (the same dataset the run started with).
func Resume(ck *checkpoint.Checkpoint, src dataset.Source) (*Trainer, error) {
	st, ok, err := checkpoint.ReadState[Options](ck)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("checkpoint has no trainer state (not written by tgan train?)")
	}
	t, err := New(ck.Config, st.Options, src)
	if err != nil {
		return nil, err
	}
	if err := t.LoadWeights(ck); err != nil {
		return nil, err
	}
	if ck.AvgGen == nil || ck.Dis == nil {
		return nil, fmt.Errorf("checkpoint lacks the EMA generator or the discriminator")
	}
	t.Iter, t.GSteps = st.Iter, st.GSteps
	t.OptG.Step, t.OptD.Step = st.AdamGStep, st.AdamDStep
	if z := ck.Extra[checkpoint.FixedZ]; z != nil && len(z.F32) == len(t.FixedZ) {
		copy(t.FixedZ, z.F32)
	}
	for net, a := range map[string]*Adam{checkpoint.OptGen: t.OptG, checkpoint.OptDis: t.OptD} {
		for _, name := range sortedKeys(a.M) {
			m, v := ck.Extra[checkpoint.OptKey(net, "m", name)], ck.Extra[checkpoint.OptKey(net, "v", name)]
			if m == nil || v == nil || len(m.F32) != len(a.M[name]) || len(v.F32) != len(a.V[name]) {
				return nil, fmt.Errorf("checkpoint lacks Adam moments of %s %q", net, name)
			}
			copy(a.M[name], m.F32)
			copy(a.V[name], v.F32)
		}
	}
	if err := t.loadAcc(ck.Extra); err != nil {
		return nil, err
	}
	if t.OptSR != nil {
		t.OptSR.Step = st.AdamSR
		if err := t.loadSR(ck, true); err != nil {
			return nil, err
		}
	}
	if t.Loader != nil {
		if err := t.Loader.Restore(st.Loader); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// LoadWeights copies the networks present in ck (Gen, AvgGen, Dis) into
// the Trainer's weights (the graphs keep working on the same tensors). A
// missing AvgGen starts as a copy of Gen. Optimizer state is untouched.
// With MT-CT on, ck's sr_embed is taken when it has one.
func (t *Trainer) LoadWeights(ck *checkpoint.Checkpoint) error {
	if ck.Config.JSON() != t.Config.JSON() {
		return fmt.Errorf("checkpoint config %s differs from the training config %s", ck.Config.JSON(), t.Config.JSON())
	}
	if err := t.SyncWeights(); err != nil { // Go's moments are current before the Upload below
		return err
	}
	avg := ck.AvgGen
	if avg == nil {
		avg = ck.Gen
	}
	for _, p := range []struct {
		dst, src model.Weights
	}{{t.Gen, ck.Gen}, {t.AvgGen, avg}, {t.Dis, ck.Dis}} {
		if p.src == nil {
			continue
		}
		for name, d := range p.dst {
			s, ok := p.src[name]
			if !ok || len(s.F32) != len(d.F32) || len(s.I64) != len(d.I64) {
				return fmt.Errorf("checkpoint tensor %q missing or of the wrong size", name)
			}
			copy(d.F32, s.F32)
			copy(d.I64, s.I64)
		}
	}
	if err := t.loadSR(ck, false); err != nil {
		return err
	}
	return t.pushState()
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
