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
// D) leaves ∂g_loss/∂θ_D in them, and the next D step adds it before its
// clip. tgan's executors hand every gradient back to Go, so both sums live
// in Go (the G step graph, which inlines D, outputs D's parameter
// gradients of the G loss beside G's: gradNet.leakGrads): Trainer.accD is D's .grad between two D steps (micro-batches and
// leak, in the order the official loop adds them), and checkpoints store
// it, so a run saved mid-accumulation resumes exactly.

// accPrefix names the stored partial D gradient sums in checkpoints.
const accPrefix = "acc.dis."

// leakPrefix names the G step's outputs of D's parameter gradients.
const leakPrefix = "dgrad/"

// accumulate adds scale*src into *dst, allocating it (and missing entries)
// on first use; the stored values are copies, never src's buffers.
func accumulate(dst *map[string][]float32, src map[string][]float32, scale float32) {
	if *dst == nil {
		*dst = make(map[string][]float32, len(src))
	}
	addGrads(*dst, src, scale)
}

// randOr returns z[off:off+n] when z is set, else n fresh normal draws.
func randOr(z []float32, off, n int, rng *rand.Rand) []float32 {
	if z != nil {
		return z[off : off+n]
	}
	return randn(rng, n)
}

// saveAcc stores the partial D gradient sum (if any) in a checkpoint's
// extra tensors.
func (t *Trainer) saveAcc(extra map[string]*model.Tensor) {
	for name, g := range t.accD {
		extra[accPrefix+name] = &model.Tensor{Shape: t.Dis[name].Shape, F32: g}
	}
}

// loadAcc restores the partial D gradient sum from a checkpoint: every D
// parameter's entry, or none (the sum was empty).
func (t *Trainer) loadAcc(extra map[string]*model.Tensor) error {
	found := 0
	for k := range extra {
		if strings.HasPrefix(k, accPrefix) {
			found++
		}
	}
	if found == 0 {
		t.accD = nil
		return nil
	}
	names := t.dTrain.names
	if found != len(names) {
		return fmt.Errorf("checkpoint holds %d of D's %d accumulated gradients", found, len(names))
	}
	t.accD = make(map[string][]float32, len(names))
	for _, name := range names {
		a := extra[accPrefix+name]
		if a == nil || len(a.F32) != len(t.Dis[name].F32) {
			return fmt.Errorf("checkpoint's accumulated gradient of D %q is missing or of the wrong size", name)
		}
		t.accD[name] = append([]float32(nil), a.F32...)
	}
	return nil
}
