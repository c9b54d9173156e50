package checkpoint

import (
	"encoding/json"
	"fmt"

	"github.com/tgan-dev/tgan/internal/data/dataset"
)

// The training state's place in a checkpoint: the one spelling of the keys
// that the trainer writes and resume, `tgan export --pth`, `tgan import
// --run` and `tgan serve` read.
const (
	// MetaState is the metadata key of the trainer's State (JSON).
	MetaState = "trainer_state"
	// MetaRun is the metadata key of the run folder's description (JSON,
	// runfolder.Info).
	MetaRun = "run"
	// FixedZ is the extra tensor of the sample grid's latents.
	FixedZ = "fixed_z"
	// OptPrefix begins every optimizer tensor's name (OptKey).
	OptPrefix = "opt."
)

// The networks of OptKey whose moments the official format has a place
// for (gen_optimizer, dis_optimizer).
const (
	OptGen = "gen"
	OptDis = "dis"
)

// OptKey is the extra tensor name of an Adam moment ("m" or "v") of a
// parameter of a network: "opt.gen.m.l1.weight".
func OptKey(net, moment, param string) string {
	return OptPrefix + net + "." + moment + "." + param
}

// State is the part of the trainer's state that is not a tensor, stored as
// JSON under MetaState. O is the trainer's options type (trainer.Options):
// it stays with the trainer, and a reader that needs none of it takes
// json.RawMessage.
type State[O any] struct {
	Options   O             `json:"options"`
	Iter      int64         `json:"iteration"`
	GSteps    int           `json:"g_steps"`
	AdamGStep int           `json:"adam_g_step"`
	AdamDStep int           `json:"adam_d_step"`
	Loader    dataset.State `json:"loader"`
	// AdamSR is the step count of MT-CT's sr_embed optimizer (absent when off).
	AdamSR int `json:"adam_sr_step,omitempty"`
}

// ReadState returns ck's training state and whether it has one (an
// imported official checkpoint has none).
func ReadState[O any](ck *Checkpoint) (State[O], bool, error) {
	var st State[O]
	raw, ok := ck.Meta[MetaState]
	if !ok {
		return st, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return st, false, fmt.Errorf("trainer state: %w", err)
	}
	return st, true, nil
}

// WriteState stores st in ck's metadata under MetaState.
func WriteState[O any](ck *Checkpoint, st State[O]) error {
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("trainer state: %w", err)
	}
	if ck.Meta == nil {
		ck.Meta = map[string]string{}
	}
	ck.Meta[MetaState] = string(js)
	return nil
}
