package runfolder

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/trainer"
)

// The checkpoint names of MT-CT's sr_embed and its Adam moments (trainer/sr.go).
const (
	srPrefix    = "sr."
	srOptPrefix = checkpoint.OptPrefix + "sr."
)

// TestSRResumeAndMetrics: with MT-CT on, 4 G steps then a resume to 8 give
// the same weights, sr_embed and its Adam moments as 8 straight;
// metrics.jsonl has sr_loss; a checkpoint without sr_embed does not resume;
// --init takes sr_embed over.
func TestSRResumeAndMetrics(t *testing.T) {
	ctx := context.Background()
	cfg := testkit.MicroConfig(t)
	o := microOptions()
	o.SRWeight = 1
	newRun := func(dir string) *Run { return newTestRunOpts(t, dir, 3, o) }
	a, b := t.TempDir(), t.TempDir()
	ra := newRun(a)
	if err := ra.Train(ctx, 8); err != nil {
		t.Fatal(err)
	}
	ra.Close()
	rb := newRun(b)
	if err := rb.Train(ctx, 4); err != nil {
		t.Fatal(err)
	}
	rb.Close()
	rb2, err := Open(b, openSynth)
	if err != nil {
		t.Fatal(err)
	}
	if rb2.Trainer.OptSR == nil || rb2.Trainer.OptSR.Step != 4 {
		t.Fatalf("resumed SR optimizer: %+v", rb2.Trainer.OptSR)
	}
	if err := rb2.Train(ctx, 8); err != nil {
		t.Fatal(err)
	}
	rb2.Close()
	ca, cb := loadLatest(t, a), loadLatest(t, b)
	for _, k := range []string{srPrefix + gmodel.SREmbedW, srPrefix + gmodel.SREmbedB, srOptPrefix + "m." + gmodel.SREmbedW, srOptPrefix + "v." + gmodel.SREmbedB} {
		if ca.Extra[k] == nil {
			t.Errorf("checkpoint lacks %s", k)
		}
	}
	for _, p := range []struct {
		name string
		x, y model.Weights
	}{{"gen", ca.Gen, cb.Gen}, {"avg_gen", ca.AvgGen, cb.AvgGen}, {"dis", ca.Dis, cb.Dis}, {"extra", ca.Extra, cb.Extra}} {
		if d, at := maxDiff(p.x, p.y); d != 0 {
			t.Errorf("%s: %s differs by %g after the resume", p.name, at, d)
		}
	}
	if ca.Meta[trainer.MetaState] != cb.Meta[trainer.MetaState] {
		t.Errorf("trainer state differs:\n%s\n%s", ca.Meta[trainer.MetaState], cb.Meta[trainer.MetaState])
	}
	raw, err := os.ReadFile(filepath.Join(b, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadMetrics(filepath.Join(b, MetricsFile))
	if err != nil || len(rows) != 8 || strings.Count(string(raw), `"sr_loss":`) != 8 {
		t.Fatalf("metrics: %d rows, %v, %d sr_loss fields", len(rows), err, strings.Count(string(raw), `"sr_loss":`))
	}
	for _, m := range rows {
		if !(m.SRLoss > 0) || !finite(m.SRLoss) {
			t.Errorf("G step %d: sr_loss %v", m.GStep, m.SRLoss)
		}
	}
	// A checkpoint without sr_embed cannot resume an SR run.
	delete(cb.Extra, srPrefix+gmodel.SREmbedB)
	if _, err := trainer.Resume(cb, newSynth(7, cfg.ImageSize)); err == nil || !strings.Contains(err.Error(), "sr_embed") {
		t.Errorf("resume without sr_embed: %v", err)
	}
	// --init: a fresh SR trainer takes sr_embed (and G) from a checkpoint.
	fresh, err := trainer.New(cfg, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.LoadWeights(ca); err != nil {
		t.Fatal(err)
	}
	if d, at := maxDiff(fresh.SR, model.Weights{gmodel.SREmbedW: ca.Extra[srPrefix+gmodel.SREmbedW], gmodel.SREmbedB: ca.Extra[srPrefix+gmodel.SREmbedB]}); d != 0 {
		t.Errorf("--init: %s differs by %g", at, d)
	}
}
