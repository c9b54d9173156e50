package runfolder

import (
	"encoding/json"
	"image"
	"sort"
	"strings"
	"time"

	"github.com/tgan-dev/tgan/internal/fileio/tfevents"
)

// SamplesTag is the TensorBoard tag of the sample grids.
const SamplesTag = "samples"

// tensorBoard is a Run's TensorBoard history: one events file per session
// beside metrics.jsonl (internal/fileio/tfevents), nil when Info.NoTensorBoard.
type tensorBoard struct {
	w         *tfevents.Writer
	imageStep int // step of the last sample grid written (-1: none)
}

// openEvents starts this session's events file. A resumed run's folder was
// cut back to the checkpoint's step by Open, so the new file continues
// the history without repeating a step.
func (r *Run) openEvents() error {
	if r.Info.NoTensorBoard || r.tb != nil {
		return nil
	}
	step := r.Trainer.GSteps
	w, err := tfevents.Create(r.Dir, wallTime(r.now()), int64(step))
	if err != nil {
		return err
	}
	r.tb = &tensorBoard{w: w, imageStep: -1}
	if step > 0 {
		r.tb.imageStep = step // the checkpoint's grid is in the history already
	}
	return nil
}

// writeEvents records a metrics row: every number it holds (as
// metrics.jsonl writes it) and the EMA decay of its G step.
func (r *Run) writeEvents(m Metric, emaDecay float64) error {
	if r.tb == nil {
		return nil
	}
	sc := append(metricScalars(m), tfevents.Scalar{Tag: "ema/decay", Value: emaDecay})
	return r.tb.w.Write(tfevents.Event{WallTime: wallTime(r.now()), Step: int64(m.GStep), Scalars: sc})
}

// writeSampleEvent records the sample grid of the current G step, once.
func (r *Run) writeSampleEvent(grid image.Image) error {
	step := r.Trainer.GSteps
	if r.tb == nil || r.tb.imageStep == step {
		return nil
	}
	r.tb.imageStep = step
	return r.tb.w.Write(tfevents.Event{WallTime: wallTime(r.now()), Step: int64(step),
		Images: []tfevents.Image{{Tag: SamplesTag, Image: grid}}})
}

func (r *Run) closeEvents() error {
	if r.tb == nil {
		return nil
	}
	err := r.tb.w.Close()
	r.tb = nil
	return err
}

func wallTime(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// metricScalars is every number of a metrics row but its step, each under
// ScalarTag of its metrics.jsonl name, in name order. Fields that the row
// omits (no evaluation at this step, MT-CT off) are absent here too.
func metricScalars(m Metric) []tfevents.Scalar {
	b, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	var row map[string]any
	if json.Unmarshal(b, &row) != nil {
		return nil
	}
	keys := make([]string, 0, len(row))
	for k, v := range row {
		if _, num := v.(float64); num && k != "g_step" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	sc := make([]tfevents.Scalar, len(keys))
	for i, k := range keys {
		sc[i] = tfevents.Scalar{Tag: ScalarTag(k), Value: row[k].(float64)}
	}
	return sc
}

// ScalarTag is the TensorBoard tag of a metrics.jsonl field: grouped by
// kind so that TensorBoard shows losses, critic outputs, learning rates and
// quality in sections of their own.
func ScalarTag(key string) string {
	switch key {
	case "d_loss", "g_loss", "gp", "sr_loss":
		return "loss/" + key
	case "wasserstein", "d_real", "d_fake":
		return "critic/" + key
	case "d_grad_norm", "g_grad_norm":
		return "grad_norm/" + key
	case "lr_g", "lr_d":
		return "lr/" + key
	case "images_per_s":
		return "speed/" + key
	}
	for _, p := range []string{"fd_", "kid_", "is_", "pr_", "dc_", "precision", "recall", "density", "coverage", "eval_"} {
		if strings.HasPrefix(key, p) {
			return "eval/" + key
		}
	}
	return "train/" + key
}
