package runfolder

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/trainer"
)

// TestResumeEqualsStraightRun: 4 G steps, then resume to 8, gives the same
// weights, EMA and optimizer state as 8 straight.
func TestResumeEqualsStraightRun(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	ra := newTestRun(t, a, 3)
	if !ra.Trainer.Opts.EMARamp {
		t.Fatal("the test run should use the v1 default EMA warm-up, which resume must continue")
	}
	if err := ra.Train(ctx, 8); err != nil {
		t.Fatal(err)
	}
	rb := newTestRun(t, b, 3)
	if err := rb.Train(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(b, openSynth); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second trainer on a locked run folder: got %v", err)
	}
	rb.Close()
	rb2, err := Open(b, openSynth)
	if err != nil {
		t.Fatal(err)
	}
	if rb2.Trainer.GSteps != 4 {
		t.Fatalf("resumed at G step %d, want 4", rb2.Trainer.GSteps)
	}
	if err := rb2.Train(ctx, 8); err != nil {
		t.Fatal(err)
	}
	ca, cb := loadLatest(t, a), loadLatest(t, b)
	for _, p := range []struct {
		name string
		x, y model.Weights
	}{{"gen", ca.Gen, cb.Gen}, {"avg_gen", ca.AvgGen, cb.AvgGen}, {"dis", ca.Dis, cb.Dis}} {
		if d, at := maxDiff(p.x, p.y); d > 1e-6 {
			t.Errorf("%s differs by %g (%s)", p.name, d, at)
		}
	}
	for k, x := range ca.Extra {
		if d, at := maxDiff(model.Weights{k: x}, model.Weights{k: cb.Extra[k]}); d > 1e-6 {
			t.Errorf("extra %s differs by %g", at, d)
		}
	}
	if ca.Meta[trainer.MetaState] != cb.Meta[trainer.MetaState] {
		t.Errorf("trainer state differs:\n%s\n%s", ca.Meta[trainer.MetaState], cb.Meta[trainer.MetaState])
	}
	// The run folder: kept checkpoints, samples, metrics, chart, config.
	for _, f := range []string{CheckpointName(8), CheckpointName(6), "samples-8.png", MetricsFile, LossPlot, ConfigFile} {
		if _, err := os.Stat(filepath.Join(b, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(b, CheckpointName(3))); err == nil {
		t.Error("old checkpoint not pruned (keep 2)")
	}
	rows, err := ReadMetrics(filepath.Join(b, MetricsFile))
	if err != nil || len(rows) != 8 {
		t.Fatalf("metrics: %d rows, %v", len(rows), err)
	}
	for _, m := range rows {
		for _, v := range []float64{m.DLoss, m.GLoss, m.GP, m.Wasserstein, m.DGradNorm, m.GGradNorm, m.ImagesPerS} {
			if !finite(v) {
				t.Fatalf("non-finite metric in %+v", m)
			}
		}
	}
}

// TestNonFiniteStops: a NaN weight stops training with ErrNonFinite and
// leaves the last good checkpoint as latest.
func TestNonFiniteStops(t *testing.T) {
	dir := t.TempDir()
	r := newTestRun(t, dir, 2)
	if err := r.Train(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	r.Trainer.Dis[model.DHeadW].F32[0] = float32(math.NaN())
	err := r.Train(context.Background(), 4)
	if !errors.Is(err, trainer.ErrNonFinite) || !strings.Contains(err.Error(), CheckpointName(2)) {
		t.Fatalf("got %v, want a non-finite error naming %s", err, CheckpointName(2))
	}
	if ck := loadLatest(t, dir); ck == nil || math.IsNaN(float64(ck.Dis[model.DHeadW].F32[0])) {
		t.Fatal("latest checkpoint is not the last good one")
	}
}

// TestCancelSaves: a cancelled context saves a checkpoint and returns.
func TestCancelSaves(t *testing.T) {
	dir := t.TempDir()
	r := newTestRun(t, dir, 100)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Train(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if ck := loadLatest(t, dir); ck == nil {
		t.Fatal("no checkpoint")
	}
}

// TestResumeRemovesStaleTemps: a write killed half-way leaves a temporary
// file; the next resume of the run deletes it (it would otherwise leak a
// checkpoint's worth of disk per crash).
func TestResumeRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	r := newTestRun(t, dir, 1)
	if err := r.Train(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	r.Close()
	stale := filepath.Join(dir, ".ckpt-2.safetensors.tmp123")
	if err := os.WriteFile(stale, []byte("half a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(dir, openSynth)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still there: %v", err)
	}
}

// fakeClock advances one second on every reading, so that a time budget
// ends a run at a reproducible G step.
func fakeClock() func() time.Time {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { now = now.Add(time.Second); return now }
}

// TestBudgetStopResumesExactly: a run that a time budget stops, resumed to
// 8 G steps, equals a straight run of 8 G steps; the budget stop saved a
// checkpoint as an interruption does.
func TestBudgetStopResumesExactly(t *testing.T) {
	ctx := context.Background()
	a, b := t.TempDir(), t.TempDir()
	ra := newTestRun(t, a, 100)
	if err := ra.Train(ctx, 8); err != nil {
		t.Fatal(err)
	}
	rb := newTestRun(t, b, 100)
	rb.nowFn, rb.Budget = fakeClock(), 10*time.Second
	if err := rb.Train(ctx, 8); !errors.Is(err, ErrBudget) {
		t.Fatalf("budget run: got %v, want ErrBudget", err)
	}
	stopped := rb.Trainer.GSteps
	if stopped <= 0 || stopped >= 8 {
		t.Fatalf("the budget stopped the run at G step %d, want within (0, 8)", stopped)
	}
	if ck := loadLatest(t, b); ck == nil || !strings.Contains(ck.Meta[trainer.MetaState], fmt.Sprintf(`"g_steps":%d`, stopped)) {
		t.Fatalf("no checkpoint at the budget stop (G step %d)", stopped)
	}
	rb.Close()
	rb2, err := Open(b, openSynth)
	if err != nil {
		t.Fatal(err)
	}
	defer rb2.Close()
	if err := rb2.Train(ctx, 8); err != nil {
		t.Fatal(err)
	}
	ca, cb := loadLatest(t, a), loadLatest(t, b)
	for _, p := range []struct {
		name string
		x, y model.Weights
	}{{"gen", ca.Gen, cb.Gen}, {"avg_gen", ca.AvgGen, cb.AvgGen}, {"dis", ca.Dis, cb.Dis}} {
		if d, at := maxDiff(p.x, p.y); d > 1e-6 {
			t.Errorf("%s differs by %g (%s)", p.name, d, at)
		}
	}
	if ca.Meta[trainer.MetaState] != cb.Meta[trainer.MetaState] {
		t.Errorf("trainer state differs:\n%s\n%s", ca.Meta[trainer.MetaState], cb.Meta[trainer.MetaState])
	}
	rows, err := ReadMetrics(filepath.Join(b, MetricsFile))
	if err != nil || len(rows) != 8 || rows[7].TrainS <= rows[stopped-1].TrainS {
		t.Fatalf("metrics after resume: %d rows, %v; training time must keep growing across sessions", len(rows), err)
	}
}
