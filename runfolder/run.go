// Package runfolder drives a trainer.Trainer with a run folder: it calls
// the Trainer's Step until a target, a budget or an interruption, and
// keeps the folder: rotated checkpoints and the latest pointer, sample
// grids, metrics.jsonl, the loss and FD charts, TensorBoard events, the
// evaluation schedule with the best checkpoint, and the folder's lock.
// cmd/tgan opens a Run and shows its Progress; the Trainer knows no folder.
package runfolder

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/internal/eval/quality"
	"github.com/tgan-dev/tgan/internal/fileio/atomicfile"
	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/fileio/tfevents"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/trainer"
	"go.yaml.in/yaml/v3"
)

// Files of a run folder.
const (
	LatestFile  = "latest"        // names the newest checkpoint
	MetricsFile = "metrics.jsonl" // one JSON object per G step
	LossPlot    = "loss.png"
	ConfigFile  = "config.yaml"      // the effective configuration
	metaRun     = checkpoint.MetaRun // checkpoint metadata: Info as JSON
)

// Info is what a run folder needs besides the Trainer: where the data
// comes from and how often to save. It is stored in every checkpoint.
type Info struct {
	Dataset         string `json:"dataset" yaml:"dataset"`
	Data            string `json:"data" yaml:"data"`
	CheckpointEvery int    `json:"checkpoint_every" yaml:"checkpoint_every"` // G steps; default 500
	Keep            int    `json:"keep" yaml:"keep"`                         // checkpoints kept; default 3
	// Eval, when set, tracks sample quality during training (eval.go).
	Eval *EvalInfo `json:"eval,omitempty" yaml:"eval,omitempty"`
	// NoTensorBoard turns off the TensorBoard events files (tensorboard.go).
	NoTensorBoard bool `json:"no_tensorboard,omitempty" yaml:"no_tensorboard,omitempty"`
}

// Progress follows a Train call. Train calls Begin once, Step after every
// G step, Clear before an evaluation's console line, and at its end either
// End (the target reached) or Stop (interrupted, budget spent, failed).
type Progress interface {
	// Begin: this session trains from G step start to steps (math.MaxInt:
	// no step limit, a time budget ends it).
	Begin(start, steps int)
	Step(Tick)
	Clear()
	Stop()
	End()
}

// Tick is the progress after one G step.
type Tick struct {
	Stats        trainer.Stats // of the G step's iteration
	Start, Steps int           // as at Begin
	// Trained is this session's training time (evaluations not counted),
	// Budget the Run's.
	Trained, Budget time.Duration
	// Saved names the checkpoint written after this G step ("": none).
	Saved string
}

// ErrBudget is returned (wrapped) by Train when Run.Budget is spent; the
// run was saved as on an interruption.
var ErrBudget = errors.New("training time budget spent")

// EffectiveConfig is the content of config.yaml.
type EffectiveConfig struct {
	Model *model.Config   `yaml:"model"`
	Train trainer.Options `yaml:"train"`
	Run   Info            `yaml:"run"`
}

// Run is a trainer.Trainer bound to a run folder.
type Run struct {
	Dir     string
	Info    Info
	Trainer *trainer.Trainer
	// Progress follows Train (nil: none); cmd/tgan draws a bar or prints
	// plain lines.
	Progress Progress
	// Log receives one-line messages (checkpoints, interruption; nil: none).
	Log io.Writer
	// Budget > 0 limits this session's training time (evaluations not
	// counted): Train saves and returns ErrBudget after the G step that
	// reaches it.
	Budget time.Duration
	// Evaluator, when set, scores the EMA G and G every Info.Eval.Every G
	// steps and at the end of Train (eval.go).
	Evaluator *quality.Evaluator

	acc       statsAcc
	lastRow   time.Time
	lock      *os.File
	eval      evalState
	tb        *tensorBoard
	sessStart time.Time
	nowFn     func() time.Time // the clock (tests replace it)
}

func (r *Run) now() time.Time {
	if r.nowFn != nil {
		return r.nowFn()
	}
	return time.Now()
}

// trained is this session's training time: since Train began, less the
// evaluations.
func (r *Run) trained() time.Duration {
	if r.sessStart.IsZero() {
		return 0
	}
	return r.now().Sub(r.sessStart) - r.eval.sessEval
}

// clock is the run's time so far, over all its sessions.
func (r *Run) clock() runClock {
	p := r.eval.prevClock
	return runClock{TrainS: p.TrainS + r.trained().Seconds(), EvalS: p.EvalS + r.eval.sessEval.Seconds()}
}

// New starts a fresh run in dir (created; it must not hold a run yet).
func New(dir string, info Info, t *trainer.Trainer) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, LatestFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a run: use --resume", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Info: info.defaults(), Trainer: t, lock: lock}
	r.eval.best = math.Inf(1)
	if err := r.writeConfig(); err != nil {
		r.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), nil, 0o644); err != nil {
		r.Close()
		return nil, err
	}
	if err := tfevents.Prune(dir, -1); err != nil { // as metrics.jsonl: a fresh history
		r.Close()
		return nil, err
	}
	return r, nil
}

func (i Info) defaults() Info {
	if i.CheckpointEvery <= 0 {
		i.CheckpointEvery = 500
	}
	if i.Keep <= 0 {
		i.Keep = 3
	}
	return i
}

// Open resumes the run in dir from its latest checkpoint. open loads the
// dataset recorded in the run (at the model's image size).
func Open(dir string, open func(info Info, size int) (dataset.Source, error)) (*Run, error) {
	name, err := os.ReadFile(filepath.Join(dir, LatestFile))
	if err != nil {
		return nil, fmt.Errorf("%s is not a run folder with a checkpoint: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	removeStaleTemps(dir)
	ck, err := checkpoint.Load(filepath.Join(dir, string(trimLine(name))))
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal([]byte(ck.Meta[metaRun]), &info); err != nil {
		return nil, fmt.Errorf("checkpoint run info: %w", err)
	}
	src, err := open(info, ck.Config.ImageSize)
	if err != nil {
		return nil, err
	}
	t, err := trainer.Resume(ck, src)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Info: info.defaults(), Trainer: t, lock: lock}
	rows, err := r.truncateMetrics()
	if err != nil {
		return nil, err
	}
	r.restoreEval(rows, ck)
	if err := tfevents.Prune(dir, int64(t.GSteps)); err != nil { // as truncateMetrics
		return nil, err
	}
	ok = true
	return r, nil
}

func trimLine(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// Train runs until the Trainer has done steps G steps (steps <= 0: no
// limit, for a Budget), ctx is cancelled (a checkpoint is saved, then ctx's
// error returned), the Budget is spent (saved, ErrBudget returned), or a
// loss turns non-finite (no checkpoint is written; the last good one stays).
// With an Evaluator, the EMA G and G are scored every Info.Eval.Every G
// steps and after the last G step.
func (r *Run) Train(ctx context.Context, steps int) (err error) {
	t := r.Trainer
	if steps <= 0 {
		steps = math.MaxInt
	}
	stopped := false
	stop := func() { // ends the progress line before a message
		if r.Progress != nil && !stopped {
			r.Progress.Stop()
		}
		stopped = true
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	start := t.GSteps
	if r.Progress != nil {
		r.Progress.Begin(start, steps)
	}
	if err := r.openEvents(); err != nil {
		return err
	}
	r.sessStart, r.eval.sessEval = r.now(), 0
	r.lastRow = r.sessStart
	saved := -1
	for t.GSteps < steps {
		if err := ctx.Err(); err != nil {
			stop()
			return r.interrupted(err)
		}
		emaDecay := t.EMADecay() // of this iteration's G step, if it has one
		st, err := t.Step()
		if err != nil {
			if errors.Is(err, trainer.ErrNonFinite) {
				return fmt.Errorf("training diverged: %w; the run folder keeps the last good checkpoint (%s)", err, r.latestName())
			}
			return err
		}
		r.acc.add(st)
		if !st.GStepped {
			continue
		}
		outOfTime := r.Budget > 0 && r.trained() >= r.Budget
		last := t.GSteps == steps || outOfTime
		m := r.metric(st)
		if r.Evaluator != nil && r.Info.Eval != nil && (t.GSteps%max(r.Info.Eval.Every, 1) == 0 || last) {
			if r.Progress != nil {
				r.Progress.Clear()
			}
			if err := r.evaluate(ctx, &m); err != nil {
				if ctx.Err() != nil {
					stop()
					return r.interrupted(ctx.Err())
				}
				return err
			}
		}
		if err := r.writeMetrics(m); err != nil {
			return err
		}
		if err := r.writeEvents(m, emaDecay); err != nil {
			return err
		}
		if m.FDEMA != nil {
			if err := r.plotFD(); err != nil {
				return err
			}
		}
		tick := Tick{Stats: st, Start: start, Steps: steps, Trained: r.trained(), Budget: r.Budget}
		if t.GSteps%r.Info.CheckpointEvery == 0 || last {
			if err := r.Save(); err != nil {
				return err
			}
			saved, tick.Saved = t.GSteps, CheckpointName(t.GSteps)
		}
		if r.Progress != nil {
			r.Progress.Step(tick)
		}
		if outOfTime {
			stop()
			r.logf("time budget of %v spent at G step %d (iteration %d): checkpoint saved", r.Budget, t.GSteps, t.Iter)
			r.logTimes()
			return ErrBudget
		}
	}
	if saved != t.GSteps {
		if err := r.Save(); err != nil {
			return err
		}
	}
	if r.Progress != nil {
		r.Progress.End()
	}
	r.logTimes()
	return nil
}

// logTimes reports the run's training and evaluation time so far.
func (r *Run) logTimes() {
	if c := r.clock(); r.Evaluator != nil {
		r.logf("time so far: training %s, evaluation %s", secs(c.TrainS), secs(c.EvalS))
	}
}

// interrupted saves a checkpoint after a cancellation and returns err.
func (r *Run) interrupted(err error) error {
	if serr := r.Save(); serr != nil {
		return errors.Join(err, serr)
	}
	r.logf("interrupted at G step %d (iteration %d): checkpoint saved", r.Trainer.GSteps, r.Trainer.Iter)
	return err
}

func (r *Run) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

var ckptRE = regexp.MustCompile(`^ckpt-(\d+)\.safetensors$`)

// CheckpointName is the file name of the checkpoint after step G steps.
func CheckpointName(step int) string { return fmt.Sprintf("ckpt-%d.safetensors", step) }

// Save writes a checkpoint of the current state, the sample grid, the loss
// chart and the latest pointer, and prunes old checkpoints.
func (r *Run) Save() error {
	t := r.Trainer
	ck := r.checkpoint()
	name := CheckpointName(t.GSteps)
	if err := checkpoint.Save(filepath.Join(r.Dir, name), ck); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(r.Dir, LatestFile), []byte(name+"\n")); err != nil {
		return err
	}
	if err := r.prune(); err != nil {
		return err
	}
	if err := r.saveSamples(); err != nil {
		return err
	}
	return r.plotLosses()
}

// checkpoint is the Trainer's checkpoint with the run's metadata.
func (r *Run) checkpoint() *checkpoint.Checkpoint {
	ck := r.Trainer.Checkpoint()
	info, _ := json.Marshal(r.Info)
	ck.Meta[metaRun] = string(info)
	clock, _ := json.Marshal(r.clock())
	ck.Meta[metaTime] = string(clock)
	return ck
}

func (r *Run) plotFD() error {
	rows, err := ReadMetrics(filepath.Join(r.Dir, MetricsFile))
	if err != nil {
		return err
	}
	return PlotFD(rows, filepath.Join(r.Dir, FDPlot))
}

func (r *Run) saveSamples() error {
	t := r.Trainer
	imgs, err := t.Samples()
	if err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	S := t.Config.ImageSize
	scale := max(1, 64/S)
	grid, err := imageio.Grid(imgs, t.Opts.Samples, 3, S, S, imageio.GridOptions{Scale: scale})
	if err != nil {
		return err
	}
	if err := imageio.SavePNG(filepath.Join(r.Dir, fmt.Sprintf("samples-%d.png", t.GSteps)), grid); err != nil {
		return err
	}
	return r.writeSampleEvent(grid)
}

func (r *Run) latestName() string {
	b, err := os.ReadFile(filepath.Join(r.Dir, LatestFile))
	if err != nil {
		return "none"
	}
	return string(trimLine(b))
}

// prune deletes all but the newest Keep checkpoints.
func (r *Run) prune() error {
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		return err
	}
	var steps []int
	for _, e := range entries {
		if m := ckptRE.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			steps = append(steps, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(steps)))
	for i := r.Info.Keep; i < len(steps); i++ {
		if err := os.Remove(filepath.Join(r.Dir, CheckpointName(steps[i]))); err != nil {
			return err
		}
	}
	return nil
}

func (r *Run) writeConfig() error {
	b, err := yaml.Marshal(EffectiveConfig{Model: r.Trainer.Config, Train: r.Trainer.Opts, Run: r.Info})
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(r.Dir, ConfigFile), b)
}

// truncateMetrics drops metric rows after the resumed step (written by
// the interrupted run after its last checkpoint) and returns those kept.
func (r *Run) truncateMetrics() ([]Metric, error) {
	rows, err := ReadMetrics(filepath.Join(r.Dir, MetricsFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var buf []byte
	var kept []Metric
	for _, row := range rows {
		if row.GStep <= r.Trainer.GSteps {
			b, _ := json.Marshal(row)
			buf = append(append(buf, b...), '\n')
			kept = append(kept, row)
		}
	}
	return kept, atomicfile.WriteBytes(filepath.Join(r.Dir, MetricsFile), buf)
}

// Metric is one line of metrics.jsonl: the G step's numbers and the means
// of the D-step numbers since the previous line.
type Metric struct {
	GStep       int     `json:"g_step"`
	Iter        int64   `json:"iteration"`
	Epoch       int     `json:"epoch"`
	DLoss       float64 `json:"d_loss"`
	GLoss       float64 `json:"g_loss"`
	GP          float64 `json:"gp"`
	Wasserstein float64 `json:"wasserstein"`
	DReal       float64 `json:"d_real"`
	DFake       float64 `json:"d_fake"`
	DGradNorm   float64 `json:"d_grad_norm"`
	GGradNorm   float64 `json:"g_grad_norm"`
	LRG         float64 `json:"lr_g"`
	LRD         float64 `json:"lr_d"`
	ImagesPerS  float64 `json:"images_per_s"` // real + generated images through D per second
	Time        string  `json:"time"`
	// SRLoss is MT-CT's unweighted SR MSE (absent when the option is off).
	SRLoss float64 `json:"sr_loss,omitempty"`
	// TrainS is the run's training time so far in seconds (all sessions,
	// evaluations not counted).
	TrainS float64 `json:"train_s"`

	// Quality of the EMA G and the raw G, on rows with an evaluation:
	// Frechet distance, KID (when the reference keeps its features) and IS
	// (when the network has logits) of EvalN images from a fixed z.
	EvalN     int      `json:"eval_n,omitempty"`
	FDEMA     *float64 `json:"fd_ema,omitempty"`
	FDRaw     *float64 `json:"fd_raw,omitempty"`
	KIDEMA    *float64 `json:"kid_ema,omitempty"`
	KIDEMAStd *float64 `json:"kid_ema_std,omitempty"`
	KIDRaw    *float64 `json:"kid_raw,omitempty"`
	KIDRawStd *float64 `json:"kid_raw_std,omitempty"`
	ISEMA     *float64 `json:"is_ema,omitempty"`
	ISEMAStd  *float64 `json:"is_ema_std,omitempty"`
	ISRaw     *float64 `json:"is_raw,omitempty"`
	ISRawStd  *float64 `json:"is_raw_std,omitempty"`
	// EvalS is this evaluation's time and EvalTotalS the run's evaluation
	// time so far, in seconds.
	EvalS      *float64 `json:"eval_s,omitempty"`
	EvalTotalS *float64 `json:"eval_total_s,omitempty"`
	// Precision, recall, density and coverage (trainer/eval.go).
	*EvalPRDC
}

// statsAcc averages the D numbers of the iterations between two G steps.
type statsAcc struct {
	n, dSteps                         int
	dLoss, gp, w, dReal, dFake, dNorm float64
}

func (a *statsAcc) add(s trainer.Stats) {
	a.n++
	a.dLoss += s.DLoss
	a.gp += s.GP
	a.w += s.Wasserstein
	a.dReal += s.DReal
	a.dFake += s.DFake
	if s.DStepped { // with accumulation, only some iterations step D
		a.dNorm += s.DGradNorm
		a.dSteps++
	}
}

// metric is the row of G step st: its numbers and the D means since the
// previous row.
func (r *Run) metric(st trainer.Stats) Metric {
	t, a := r.Trainer, &r.acc
	n := float64(a.n)
	now := r.now()
	imgs := float64(a.n*t.CriticImages() + t.Opts.GenBatch*t.Opts.GAccumulate)
	m := Metric{
		GStep: st.GStep, Iter: st.Iter, Epoch: st.Epoch, DLoss: a.dLoss / n, GLoss: st.GLoss, GP: a.gp / n,
		Wasserstein: a.w / n, DReal: a.dReal / n, DFake: a.dFake / n, DGradNorm: a.dNorm / float64(max(a.dSteps, 1)), GGradNorm: st.GGradNorm,
		LRG: t.Opts.LRG, LRD: t.Opts.LRD, ImagesPerS: imgs / now.Sub(r.lastRow).Seconds(), Time: now.UTC().Format(time.RFC3339),
		SRLoss: st.SRLoss, TrainS: r.clock().TrainS,
	}
	*a = statsAcc{}
	r.lastRow = now
	return m
}

func (r *Run) writeMetrics(m Metric) error {
	b, _ := json.Marshal(m)
	f, err := os.OpenFile(filepath.Join(r.Dir, MetricsFile), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadMetrics reads a metrics.jsonl file.
func ReadMetrics(path string) ([]Metric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m Metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return rows, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, m)
	}
	return rows, sc.Err()
}

// removeStaleTemps deletes the temporary files of writes that a crash (or
// SIGKILL) interrupted: atomicfile names them ".NAME.tmp*". Only called with
// the run folder's lock held, so no live writer owns them.
func removeStaleTemps(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp*"))
	for _, f := range stale {
		os.Remove(f)
	}
}

// lockDir takes an exclusive advisory lock on dir/.lock until the returned
// file is closed (the kernel drops it when the process dies, even by
// SIGKILL), so that two trainers never write one run folder.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by another tgan train process", dir)
	}
	return f, nil
}

// Close ends the TensorBoard file and releases the run folder's lock.
func (r *Run) Close() error {
	err := r.closeEvents()
	if r.lock == nil {
		return err
	}
	if cerr := r.lock.Close(); err == nil {
		err = cerr
	}
	r.lock = nil
	return err
}
