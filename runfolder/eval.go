package runfolder

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
)

// Quality tracking files of a run folder.
const (
	BestFile = "best.safetensors" // the checkpoint with the lowest EMA FD; never pruned
	FDPlot   = "fd.png"
	metaBest = "best"     // checkpoint metadata of BestFile: its G step and FD
	metaTime = "run_time" // checkpoint metadata: training and evaluation seconds so far
)

// EvalInfo says how a run tracks sample quality (Info.Eval): the feature
// network and reference statistics (tgan stats), how often and on how many
// images. The CLI opens them into a quality.Evaluator (Run.Evaluator); a
// resumed run reopens the same files.
type EvalInfo struct {
	Net        string `json:"net" yaml:"net"`
	Ref        string `json:"ref" yaml:"ref"`
	Every      int    `json:"every" yaml:"every"` // G steps
	N          int    `json:"n" yaml:"n"`
	Seed       int64  `json:"seed" yaml:"seed"`   // of the latent stream (tgan stats --seed)
	Batch      int    `json:"batch" yaml:"batch"` // generator and network batch (tgan stats --batch)
	InputRange string `json:"input_range" yaml:"input_range"`
	InputSize  int    `json:"input_size,omitempty" yaml:"input_size,omitempty"`
	Pool       string `json:"pool_output" yaml:"pool_output"`
	Logits     string `json:"logits_output" yaml:"logits_output"`
}

// EvalPRDC are a metrics row's precision, recall, density and coverage of
// the EMA G and the raw G against the reference features (k = PRK), on
// rows with an evaluation whose reference keeps its features. Metric
// embeds it, so the fields sit in the row's JSON like the others.
type EvalPRDC struct {
	PRK          int      `json:"pr_k,omitempty"`
	PrecisionEMA *float64 `json:"precision_ema,omitempty"`
	RecallEMA    *float64 `json:"recall_ema,omitempty"`
	DensityEMA   *float64 `json:"density_ema,omitempty"`
	CoverageEMA  *float64 `json:"coverage_ema,omitempty"`
	PrecisionRaw *float64 `json:"precision_raw,omitempty"`
	RecallRaw    *float64 `json:"recall_raw,omitempty"`
	DensityRaw   *float64 `json:"density_raw,omitempty"`
	CoverageRaw  *float64 `json:"coverage_raw,omitempty"`
}

// runClock is the time a run has spent so far, kept in its checkpoints.
type runClock struct {
	TrainS float64 `json:"train_s"`
	EvalS  float64 `json:"eval_s"`
}

// bestInfo is the metadata of BestFile.
type bestInfo struct {
	GStep int     `json:"g_step"`
	FD    float64 `json:"fd"`
}

// evalState is a Run's evaluation bookkeeping.
type evalState struct {
	ema, raw  engine.Model // G's EMA and G, sharing the trainer.Trainer's weights
	best      float64      // lowest EMA FD so far (+Inf: none)
	bestStep  int
	sessEval  time.Duration // evaluation time of this session
	prevClock runClock      // time of the sessions before this one
}

// evaluate scores the EMA G and the raw G with r.Evaluator, keeps the best
// checkpoint, redraws fd.png and returns the numbers for the metrics row.
func (r *Run) evaluate(ctx context.Context, m *Metric) error {
	t, e := r.Trainer, &r.eval
	began := r.now()
	if err := t.SyncWeights(); err != nil { // the models below read the Trainer's Go tensors
		return err
	}
	if e.ema == nil {
		ck := &checkpoint.Checkpoint{Config: t.Config, Gen: t.Gen, AvgGen: t.AvgGen}
		var err error
		if e.ema, err = engine.FromCheckpoint(ck, engine.Generator, engine.Options{}); err != nil {
			return err
		}
		if e.raw, err = engine.FromCheckpoint(ck, engine.Generator, engine.Options{RawGenerator: true}); err != nil {
			return err
		}
	}
	ema, err := r.Evaluator.Evaluate(ctx, e.ema)
	if err != nil {
		return fmt.Errorf("evaluation of the EMA generator: %w", err)
	}
	raw, err := r.Evaluator.Evaluate(ctx, e.raw)
	if err != nil {
		return fmt.Errorf("evaluation of the generator: %w", err)
	}
	m.EvalN = r.Evaluator.N
	m.FDEMA, m.FDRaw = ema.FD, raw.FD
	m.KIDEMA, m.KIDEMAStd, m.KIDRaw, m.KIDRawStd = ema.KIDMean, ema.KIDStd, raw.KIDMean, raw.KIDStd
	m.ISEMA, m.ISEMAStd, m.ISRaw, m.ISRawStd = ema.ISMean, ema.ISStd, raw.ISMean, raw.ISStd
	if e, r := ema.PRDC, raw.PRDC; e != nil && r != nil {
		m.EvalPRDC = &EvalPRDC{PRK: e.K, PrecisionEMA: &e.Precision, RecallEMA: &e.Recall, DensityEMA: &e.Density, CoverageEMA: &e.Coverage,
			PrecisionRaw: &r.Precision, RecallRaw: &r.Recall, DensityRaw: &r.Density, CoverageRaw: &r.Coverage}
	}
	improved := *ema.FD < e.best
	if improved {
		e.best, e.bestStep = *ema.FD, t.GSteps
		if err := r.saveBest(); err != nil {
			return err
		}
	}
	dur := r.now().Sub(began)
	e.sessEval += dur
	es, total := dur.Seconds(), r.clock().EvalS
	m.EvalS, m.EvalTotalS = &es, &total
	r.logf("%s", evalLine(m, e.best, e.bestStep, time.Duration(r.clock().TrainS*float64(time.Second))))
	return nil
}

// evalLine is the console line of one evaluation.
func evalLine(m *Metric, best float64, bestStep int, trained time.Duration) string {
	s := fmt.Sprintf("eval G step %d (%d images): FD %.3f EMA G, %.3f G", m.GStep, m.EvalN, *m.FDEMA, *m.FDRaw)
	if m.KIDEMA != nil {
		s += fmt.Sprintf("; KID %.5f / %.5f", *m.KIDEMA, *m.KIDRaw)
	}
	if m.ISEMA != nil {
		s += fmt.Sprintf("; IS %.3f / %.3f", *m.ISEMA, *m.ISRaw)
	}
	if p := m.EvalPRDC; p != nil {
		s += fmt.Sprintf("; P/R/D/C %.3f/%.3f/%.3f/%.3f / %.3f/%.3f/%.3f/%.3f", *p.PrecisionEMA, *p.RecallEMA, *p.DensityEMA, *p.CoverageEMA,
			*p.PrecisionRaw, *p.RecallRaw, *p.DensityRaw, *p.CoverageRaw)
	}
	s += fmt.Sprintf("; best %.3f at G step %d", best, bestStep)
	return s + fmt.Sprintf(" [eval %s; so far training %s, evaluation %s]",
		secs(*m.EvalS), trained.Round(time.Second), secs(*m.EvalTotalS))
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)).Round(time.Second) }

// saveBest writes the current state to BestFile (the checkpoint format of
// every other checkpoint, so tgan infer/export/--resume-free tools take it).
func (r *Run) saveBest() error {
	ck := r.checkpoint()
	b, _ := json.Marshal(bestInfo{GStep: r.Trainer.GSteps, FD: r.eval.best})
	ck.Meta[metaBest] = string(b)
	return checkpoint.Save(filepath.Join(r.Dir, BestFile), ck)
}

// restoreEval takes the best FD so far from the metrics history that the
// resumed checkpoint keeps, and the clock from the checkpoint.
func (r *Run) restoreEval(rows []Metric, ck *checkpoint.Checkpoint) {
	r.eval.best, r.eval.bestStep = math.Inf(1), 0
	for _, m := range rows {
		if m.FDEMA != nil && *m.FDEMA < r.eval.best {
			r.eval.best, r.eval.bestStep = *m.FDEMA, m.GStep
		}
	}
	if s, ok := ck.Meta[metaTime]; ok {
		_ = json.Unmarshal([]byte(s), &r.eval.prevClock) // absent in older runs: start at 0
	}
}

// PlotFD draws a PNG chart (fd.png) of the evaluated rows: FD of the EMA
// G and of G against G steps.
func PlotFD(rows []Metric, path string) error {
	var ema, raw plotter.XYs
	for _, m := range rows {
		if m.FDEMA != nil && m.FDRaw != nil {
			ema = append(ema, plotter.XY{X: float64(m.GStep), Y: *m.FDEMA})
			raw = append(raw, plotter.XY{X: float64(m.GStep), Y: *m.FDRaw})
		}
	}
	if len(ema) == 0 {
		return nil
	}
	p := newStepChart("Frechet distance during training", "FD")
	if err := plotutil.AddLinePoints(p, "EMA G", ema, "G", raw); err != nil {
		return err
	}
	return writeChart(p, path)
}
