package trainer

import (
	"fmt"
	"math/rand"
	"strings"

	"github.com/tgan-dev/tgan/model"
)

// Gradient accumulation and the G loss's leak into D (SPEC-hires 5.1).
//
// The official final loop backpropagates d_loss/accumulated_times per D
// micro-batch into D's .grad and steps D every accumulated_times
// micro-batches; it zeroes D's gradients only after a D step, so the G
// step's backward (g_loss/g_accumulated_times per G micro-batch, through
// D) leaves dg_loss/dθ_D in them, and the next D step adds it before its
// clip. In tgan the G step graph, which inlines D, outputs D's parameter
// gradients of the G loss beside G's (gradNet.leakBuf), and accumulation
// graphs (update.go) add the micro-batches and the leak into Trainer.accD,
// D's .grad between two D steps, in the order the official loop adds them.
// Checkpoints store a pending sum, so a run saved mid-accumulation resumes
// exactly.

// accPrefix names the stored partial D gradient sums in checkpoints.
const accPrefix = "acc.dis."

// leakPrefix names the G step's outputs of D's parameter gradients.
const leakPrefix = "dgrad/"

// randOr returns z[off:off+n] when z is set, else n fresh normal draws.
func randOr(z []float32, off, n int, rng *rand.Rand) []float32 {
	if z != nil {
		return z[off : off+n]
	}
	return randn(rng, n)
}

// saveAcc stores the pending partial D gradient sum (if any) in a
// checkpoint's extra tensors.
func (t *Trainer) saveAcc(extra map[string]*model.Tensor) {
	if !t.accPending {
		return
	}
	for name, g := range t.accD {
		extra[accPrefix+name] = &model.Tensor{Shape: t.Dis[name].Shape, F32: g}
	}
}

// loadAcc restores the partial D gradient sum from a checkpoint: every D
// parameter's entry, or none (no sum was pending).
func (t *Trainer) loadAcc(extra map[string]*model.Tensor) error {
	found := 0
	for k := range extra {
		if strings.HasPrefix(k, accPrefix) {
			found++
		}
	}
	t.accPending = false
	if found == 0 {
		return nil
	}
	names := t.dTrain.names
	if t.accD == nil || found != len(names) {
		return fmt.Errorf("checkpoint holds %d of D's %d accumulated gradients, the recipe sums %d (accumulate %d, leak %v)", found, len(names), len(t.accD), t.Opts.Accumulate, t.Opts.GradLeak)
	}
	for _, name := range names {
		a := extra[accPrefix+name]
		if a == nil || len(a.F32) != len(t.Dis[name].F32) {
			return fmt.Errorf("checkpoint's accumulated gradient of D %q is missing or of the wrong size", name)
		}
		copy(t.accD[name], a.F32)
	}
	t.accPending = true
	return nil
}

// pendingAcc is the partial D gradient sum, or nil when none is pending.
func (t *Trainer) pendingAcc() map[string][]float32 {
	if !t.accPending {
		return nil
	}
	return t.accD
}
