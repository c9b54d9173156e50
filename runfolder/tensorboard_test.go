package runfolder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/fileio/tfevents/tfread"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/trainer"
)

// tbHistory is a run folder's TensorBoard history as the independent
// reader sees it: per tag, the events in file order.
type tbHistory struct {
	scalars map[string]map[int64]float32
	images  map[int64]*tfread.Image
	starts  []int64 // steps of SessionLog START events
}

// readHistory reads every events file of dir, failing on a torn file, a
// repeated (tag, step) or a step that goes back within a tag.
func readHistory(t *testing.T, dir string) tbHistory {
	t.Helper()
	events, torn, err := tfread.ReadDir(dir)
	if err != nil || len(torn) != 0 {
		t.Fatalf("events of %s: %v, files ending early: %v", dir, err, torn)
	}
	if len(events) == 0 || events[0].FileVersion != "brain.Event:2" {
		t.Fatalf("no file_version event first")
	}
	h := tbHistory{scalars: map[string]map[int64]float32{}, images: map[int64]*tfread.Image{}}
	last := map[string]int64{}
	for _, e := range events {
		if e.SessionLog == 1 {
			h.starts = append(h.starts, e.Step)
		}
		for _, v := range e.Values {
			if prev, ok := last[v.Tag]; ok && e.Step <= prev {
				t.Fatalf("tag %s: step %d after step %d (a zigzag in TensorBoard)", v.Tag, e.Step, prev)
			}
			last[v.Tag] = e.Step
			switch {
			case v.Simple != nil:
				if h.scalars[v.Tag] == nil {
					h.scalars[v.Tag] = map[int64]float32{}
				}
				h.scalars[v.Tag][e.Step] = *v.Simple
			case v.Image != nil && v.Tag == SamplesTag:
				h.images[e.Step] = v.Image
			default:
				t.Fatalf("unexpected value %q at step %d", v.Tag, e.Step)
			}
		}
	}
	return h
}

// checkAgainstMetrics: every number of every metrics.jsonl row is a scalar
// at its G step with its value (as float32), the main ones under the tags
// the README names, plus the EMA decay of the v1 warm-up; and no scalar
// has a step without a row.
func checkAgainstMetrics(t *testing.T, dir string, h tbHistory, steps int) {
	t.Helper()
	rows, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil || len(rows) != steps {
		t.Fatalf("metrics.jsonl: %d rows (want %d), %v", len(rows), steps, err)
	}
	for _, m := range rows {
		s := int64(m.GStep)
		for tag, want := range map[string]float64{"loss/d_loss": m.DLoss, "loss/g_loss": m.GLoss, "loss/gp": m.GP,
			"critic/wasserstein": m.Wasserstein, "lr/lr_g": m.LRG, "lr/lr_d": m.LRD, "speed/images_per_s": m.ImagesPerS,
			"ema/decay": math.Min(0.999, float64(s)/float64(9+s))} { // (1+t)/(10+t) at t = s-1 G steps done
			if got, ok := h.scalars[tag][s]; !ok || got != float32(want) {
				t.Errorf("%s at step %d: %v (present %v), want %v", tag, s, got, ok, float32(want))
			}
		}
		b, _ := json.Marshal(m)
		var row map[string]any
		json.Unmarshal(b, &row)
		for k, v := range row {
			if f, num := v.(float64); num && k != "g_step" {
				if got, ok := h.scalars[ScalarTag(k)][s]; !ok || got != float32(f) {
					t.Errorf("%s (%s) at step %d: %v (present %v), want %v", ScalarTag(k), k, s, got, ok, float32(f))
				}
			}
		}
	}
	for tag, byStep := range h.scalars {
		if len(byStep) != steps {
			t.Errorf("tag %s has %d steps, want %d", tag, len(byStep), steps)
		}
	}
}

// checkImages: the sample grids are at exactly the wanted steps and equal
// the run folder's samples-N.png.
func checkImages(t *testing.T, dir string, h tbHistory, steps ...int64) {
	t.Helper()
	if len(h.images) != len(steps) {
		t.Errorf("sample grids at %d steps, want %v", len(h.images), steps)
	}
	for _, s := range steps {
		im := h.images[s]
		if im == nil {
			t.Errorf("no sample grid at step %d", s)
			continue
		}
		got, err := png.Decode(bytes.NewReader(im.Encoded))
		if err != nil {
			t.Fatal(err)
		}
		want, err := imageio.LoadImage(filepath.Join(dir, fmt.Sprintf("samples-%d.png", s)))
		if err != nil {
			t.Fatal(err)
		}
		if got.Bounds() != want.Bounds() || im.Width != want.Bounds().Dx() || im.Height != want.Bounds().Dy() {
			t.Fatalf("grid at step %d: %v (%dx%d), file %v", s, got.Bounds(), im.Width, im.Height, want.Bounds())
		}
		for y := 0; y < im.Height; y++ {
			for x := 0; x < im.Width; x++ {
				if color.NRGBAModel.Convert(got.At(x, y)) != color.NRGBAModel.Convert(want.At(x, y)) {
					t.Fatalf("grid at step %d differs from samples-%d.png at %d,%d", s, s, x, y)
				}
			}
		}
	}
}

// TestTensorBoardHistory: a run writes every metrics number and the EMA
// decay at every G step and each sample grid at its checkpoint, read back
// by the independent reader.
func TestTensorBoardHistory(t *testing.T) {
	dir := t.TempDir()
	r := newTestRun(t, dir, 3)
	if err := r.Train(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	h := readHistory(t, dir)
	checkAgainstMetrics(t, dir, h, 7)
	checkImages(t, dir, h, 3, 6, 7)
	if len(h.starts) != 0 {
		t.Errorf("a fresh run wrote SessionLog START at %v", h.starts)
	}
}

// TestTensorBoardResume: a run killed after its checkpoint at step 6, with
// the events file cut inside a record (as SIGKILL leaves it) and metrics up
// to step 7, resumes to 9: the folder then holds every step once, the
// grids of steps 3, 6 and 9, and a START event at step 7. An interruption
// right after the resume adds no second grid.
func TestTensorBoardResume(t *testing.T) {
	dir := t.TempDir()
	r := newTestRun(t, dir, 3)
	if err := r.Train(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	r.Close()
	// The kill: the latest checkpoint is step 6, the events file torn.
	if err := os.WriteFile(filepath.Join(dir, LatestFile), []byte(CheckpointName(6)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("events files %v, want one", files)
	}
	b, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], b[:len(b)-9], 0o644)
	if _, tail, err := tfread.ReadFile(files[0]); err != nil || !errors.Is(tail, tfread.ErrTorn) {
		t.Fatalf("the cut file: tail %v, %v", tail, err)
	}
	r2, err := Open(dir, openSynth)
	if err != nil {
		t.Fatal(err)
	}
	if h := readHistory(t, dir); len(h.scalars["loss/d_loss"]) != 6 || h.images[7] != nil {
		t.Fatalf("after Open: d_loss at %d steps, grid at 7: %v; want 6 steps and no grid", len(h.scalars["loss/d_loss"]), h.images[7] != nil)
	}
	if err := r2.Train(context.Background(), 9); err != nil {
		t.Fatal(err)
	}
	r2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r3, err := Open(dir, openSynth)
	if err != nil {
		t.Fatal(err)
	}
	if err := r3.Train(ctx, 12); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted resume: %v", err)
	}
	r3.Close()
	h := readHistory(t, dir)
	checkAgainstMetrics(t, dir, h, 9)
	checkImages(t, dir, h, 3, 6, 9)
	if len(h.starts) != 2 || h.starts[0] != 7 || h.starts[1] != 10 {
		t.Errorf("SessionLog START at %v, want [7 10]", h.starts)
	}
}

// TestNoTensorBoard: Info.NoTensorBoard writes no events file and is
// kept in config.yaml; metrics.jsonl is written as always.
func TestNoTensorBoard(t *testing.T) {
	dir := t.TempDir()
	cfg := testkit.MicroConfig(t)
	tr, err := trainer.New(cfg, microOptions(), newSynth(7, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(dir, Info{Dataset: "synth", CheckpointEvery: 2, NoTensorBoard: true}, tr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Train(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "events.out.tfevents.*")); len(files) != 0 {
		t.Errorf("events files with NoTensorBoard: %v", files)
	}
	if rows, err := ReadMetrics(filepath.Join(dir, MetricsFile)); err != nil || len(rows) != 2 {
		t.Errorf("metrics.jsonl: %d rows, %v", len(rows), err)
	}
	if y, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); !strings.Contains(string(y), "no_tensorboard: true") {
		t.Errorf("config.yaml does not keep no_tensorboard:\n%s", y)
	}
}

// TestMetricScalars: an evaluated row brings its quality numbers under
// eval/, a row without them has none, and omitted fields stay omitted.
func TestMetricScalars(t *testing.T) {
	fd, kid, is := 12.5, 0.0125, 3.25
	m := Metric{GStep: 40, DLoss: 1, GLoss: 2, LRG: 1e-4, EvalN: 100, FDEMA: &fd, KIDRaw: &kid, ISEMA: &is}
	got := map[string]float64{}
	for _, s := range metricScalars(m) {
		got[s.Tag] = s.Value
	}
	for tag, want := range map[string]float64{"loss/d_loss": 1, "loss/g_loss": 2, "lr/lr_g": 1e-4,
		"eval/fd_ema": fd, "eval/kid_raw": kid, "eval/is_ema": is, "eval/eval_n": 100} {
		if v, ok := got[tag]; !ok || v != want {
			t.Errorf("%s: %v (present %v), want %v", tag, v, ok, want)
		}
	}
	for _, absent := range []string{"eval/fd_raw", "loss/sr_loss", "train/g_step", "train/time"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s present", absent)
		}
	}
	for _, s := range metricScalars(Metric{GStep: 41}) {
		if strings.HasPrefix(s.Tag, "eval/") {
			t.Errorf("a row without evaluation has %s", s.Tag)
		}
	}
}
