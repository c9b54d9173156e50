package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/tgan-dev/tgan/internal/eval/quality"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runfolder"
	"github.com/tgan-dev/tgan/runtime"
	"github.com/tgan-dev/tgan/trainer"
	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a TransGAN with Gorgonia (official recipe), or resume a run",
		Description: "Starts a run: tgan train --preset tiny --dataset fashion-mnist --out RUN --steps 2000\n" +
			"Resumes one:  tgan train --resume RUN --steps 4000 (continues to 4000 G steps in total)\n" +
			"A time budget: tgan train ... --minutes 30 (saves as on Ctrl-C when spent; --resume continues exactly)\n\n" +
			"Quality tracking: --eval-net NET.onnx --eval-ref REF.npz (a feature network as tgan stats --inception takes,\n" +
			"and statistics from tgan stats with it) scores the EMA G and G every --eval-every G steps and at the end on\n" +
			"--eval-n images from the latent stream of --eval-seed: FD (KID when REF keeps its features, IS when NET has\n" +
			"logits; KID on 10 subsets) into metrics.jsonl, fd.png and a console line, and keeps RUN/best.safetensors,\n" +
			"the checkpoint with the lowest EMA FD (never pruned). The same FD as tgan stats --inception NET --seed S\n" +
			"--n N --batch B RUN/best.safetensors, then tgan fid with REF. Evaluation time is not training time\n" +
			"(--minutes counts training only). A resumed run keeps evaluating with the files it started with.\n\n" +
			"TensorBoard: RUN/events.out.tfevents.* hold every number of metrics.jsonl, the EMA decay and the sample\n" +
			"grids (tensorboard --logdir RUN); a resume continues them without repeating a step. --no-tensorboard: none.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "preset", Usage: "model preset (" + strings.Join(model.PresetNames(), ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "model config `FILE.yaml` (a bare model config, or a run's config.yaml)"},
			&cli.StringFlag{Name: "dataset", Usage: "dataset kind: " + kindList()},
			&cli.StringFlag{Name: "data", Usage: "dataset `PATH` (default for fashion-mnist: " + dataset.DefaultFashionMNIST + ")"},
			&cli.StringFlag{Name: "out", Usage: "run folder `DIR` to create"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in `DIR` from its latest checkpoint"},
			&cli.IntFlag{Name: "steps", Usage: "total generator updates to reach (required unless --minutes)"},
			&cli.Float64Flag{Name: "minutes", Usage: "train at most `M` minutes this session (evaluations not counted), then save as on Ctrl-C"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of every random draw (weights, data order, z, augmentation)"},
			&cli.IntFlag{Name: "checkpoint-every", Value: 500, Usage: "save a checkpoint and a sample grid every `K` G steps"},
			&cli.IntFlag{Name: "keep", Value: 3, Usage: "checkpoints to keep"},
			&cli.IntFlag{Name: "batch", Usage: "D batch size; G batch is twice it (official ratio) unless --gen-batch"},
			&cli.IntFlag{Name: "gen-batch", Usage: "G-step batch size"},
			&cli.IntFlag{Name: "dis-batch", Usage: "D-step batch size"},
			&cli.StringFlag{Name: "loss", Usage: "loss: " + strings.Join(trainer.Losses(), ", ") + " (default wgangp-eps)"},
			&cli.IntFlag{Name: "n-critic", Usage: "D steps per G step (default 5 for v1, 4 for final)"},
			&cli.Float64Flag{Name: "lr", Usage: "Adam learning rate of G and D (default 1e-4)"},
			&cli.StringFlag{Name: "augment", Usage: "DiffAugment policy, ops in order from translation, cutout, color, erase_ratio, stl_erase_ratio, erase, hue, filter (default translation,cutout,color; the zoo presets bring the official one; none to disable)"},
			&cli.Float64Flag{Name: "ema-beta", Usage: "fixed EMA decay per G step, no warm-up (default v1: 0.999 after the warm-up (1+t)/(10+t) at G step t; final: the final code's ramp); negative: the final code's ramp"},
			&cli.IntFlag{Name: "mask-epoch-steps", Usage: "v1 mask schedule: count an epoch as this many iterations (default: dataset passes)"},
			&cli.IntFlag{Name: "samples", Usage: "images in each sample grid (default 64)"},
			&cli.StringFlag{Name: "init", Usage: "start from the weights of `CKPT` (a tgan checkpoint; fresh optimizer)"},
			&cli.StringFlag{Name: "eval-net", Usage: "track quality with this feature network `NET.onnx` (input [B,3,H,W], outputs pool and, optionally, logits)"},
			&cli.StringFlag{Name: "eval-ref", Usage: "reference statistics `REF.npz` (tgan stats with the same network)"},
			&cli.IntFlag{Name: "eval-every", Usage: "evaluate every `K` G steps (default: --checkpoint-every)"},
			&cli.IntFlag{Name: "eval-n", Value: 5000, Usage: "images per evaluation (two generators each)"},
			&cli.Int64Flag{Name: "eval-seed", Usage: "seed of the evaluation latents (tgan stats --seed)"},
			&cli.IntFlag{Name: "eval-batch", Value: 50, Usage: "evaluation batch, generator and network (tgan stats --batch)"},
			&cli.StringFlag{Name: "eval-input-range", Value: string(metrics.Unit), Usage: "pixel range fed to the network: 0,1, -1,1 or 0,255 (tgan stats --input-range)"},
			&cli.IntFlag{Name: "eval-input-size", Usage: "resize images to this side before the network (0: the network's fixed input size)"},
			&cli.StringFlag{Name: "eval-pool-output", Value: "pool", Usage: "name of the network's pooled-feature output"},
			&cli.StringFlag{Name: "eval-logits-output", Value: "logits", Usage: "name of the network's logits output (IS; optional)"},
			&cli.StringFlag{Name: "ort-lib", Usage: "path of libonnxruntime.so for --eval-net (default: $" + runtime.LibraryEnvVar + ", then .ort/ from scripts/setup.sh)"},
			&cli.Float64Flag{Name: "sr-weight", Usage: fmt.Sprintf("v1 multi-task co-training: weight `W` of the auxiliary super-resolution MSE added to the G loss (0: off; the paper gives no value, %g is tgan's suggestion)", trainer.DefaultSRWeight)},
			&cli.BoolFlag{Name: "no-tensorboard", Usage: "write no TensorBoard events files (events.out.tfevents.*) into the run folder (kept on --resume; --no-tensorboard=false turns them back on)"},
			&cli.StringFlag{Name: "accumulate", Usage: "gradient accumulation `D[,G]`: D micro-batches (of --dis-batch) per D step, G micro-batches (of --gen-batch) per G step (default 1,1; the hires presets bring theirs)"},
			&cli.BoolFlag{Name: "no-grad-leak", Usage: "drop the final code's quirk that adds the G loss's gradient wrt D into the next D step (on in the final presets)"},
			&cli.IntFlag{Name: "drift-group", Usage: "wgangp-eps drift per group of `N` real samples, as the official per-GPU batches (0: whole batch; the final presets bring theirs)"},
			executorFlags()[0], executorFlags()[1], executorFlags()[2],
		},
		Action: runTrain,
	}
}

func kindList() string {
	var k []string
	for _, x := range dataset.Kinds() {
		k = append(k, string(x))
	}
	return strings.Join(k, ", ")
}

func runTrain(c *cli.Context) error {
	if _, _, _, err := executorChoice(c); err != nil {
		return err
	}
	minutes := c.Float64("minutes")
	switch n := c.Int("steps"); {
	case c.IsSet("steps") && n <= 0:
		return fmt.Errorf("--steps %d: must be positive (the total number of G steps to reach)", n)
	case c.IsSet("minutes") && !(minutes > 0 && minutes < 1e6):
		return fmt.Errorf("--minutes %v: must be positive", minutes)
	case !c.IsSet("steps") && !c.IsSet("minutes"):
		return errors.New("--steps N (G steps to reach) or --minutes M (a time budget) is required")
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var run *runfolder.Run
	var err error
	closeExec := func() {}
	if dir := c.String("resume"); dir != "" {
		for _, f := range []string{"preset", "config", "out", "dataset", "init", "sr-weight", "accumulate", "no-grad-leak", "drift-group"} {
			if c.IsSet(f) {
				return fmt.Errorf("--resume continues a run as it was configured: drop --%s", f)
			}
		}
		run, err = runfolder.Open(dir, openDataset)
		if err == nil {
			if run.Info.Eval, err = evalInfo(c, run.Info.Eval, run.Info.CheckpointEvery); err == nil {
				run.Evaluator, err = openEvaluator(c, run.Info.Eval, run.Trainer.Config.ImageSize)
			}
			if err != nil {
				run.Close()
			}
		}
		if err == nil && c.IsSet("checkpoint-every") {
			run.Info.CheckpointEvery = c.Int("checkpoint-every")
		}
		if err == nil && c.IsSet("keep") {
			run.Info.Keep = c.Int("keep")
		}
		if err == nil && c.IsSet("no-tensorboard") {
			run.Info.NoTensorBoard = c.Bool("no-tensorboard")
		}
		if err == nil {
			if closeExec, err = useExecutor(c, run.Trainer); err != nil {
				run.Close()
			}
		}
	} else {
		run, closeExec, err = newRun(c)
	}
	if err != nil {
		return err
	}
	defer run.Close()
	defer closeExec() // sessions go before the run (as they came after it)
	if run.Evaluator != nil {
		defer run.Evaluator.Net.Close()
	}
	run.Log = os.Stderr
	if term.IsTerminal(int(os.Stderr.Fd())) {
		run.Progress = &trainBar{w: os.Stderr}
	} else {
		run.Progress = &trainLines{w: os.Stderr, every: 10, sr: run.Trainer.Opts.SRWeight > 0}
	}
	run.Budget = time.Duration(minutes * float64(time.Minute))
	t := run.Trainer
	target := "no step limit"
	if c.IsSet("steps") {
		target = fmt.Sprint(c.Int("steps"))
	}
	fmt.Fprintf(os.Stderr, "training %s: G step %d -> %s, loss %s, batches G %d / D %d, n_critic %d, EMA %s\n",
		run.Dir, t.GSteps, target, t.Opts.Loss, t.Opts.GenBatch, t.Opts.DisBatch, t.Opts.NCritic, emaDescription(t.Opts))
	if r := recipeDescription(t.Opts); r != "" {
		fmt.Fprintln(os.Stderr, r)
	}
	if run.Budget > 0 {
		fmt.Fprintf(os.Stderr, "time budget: %v of training (evaluations not counted)\n", run.Budget)
	}
	if t.Opts.SRWeight > 0 {
		fmt.Fprintf(os.Stderr, "multi-task co-training: super-resolution loss weight %g\n", t.Opts.SRWeight)
	}
	if e := run.Info.Eval; e != nil {
		fmt.Fprintf(os.Stderr, "quality tracking every %d G steps, %d images: %s against %s\n", e.Every, e.N, run.Evaluator.Net.Describe(), e.Ref)
	}
	err = run.Train(ctx, c.Int("steps"))
	again := fmt.Sprintf("tgan train --resume %s --steps %d", run.Dir, c.Int("steps"))
	if !c.IsSet("steps") {
		again = fmt.Sprintf("tgan train --resume %s --minutes M", run.Dir)
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(os.Stderr, "stopped: resume with %s\n", again)
		return nil
	case errors.Is(err, runfolder.ErrBudget):
		fmt.Fprintf(os.Stderr, "time budget spent: continue with %s\n", again)
		return nil
	}
	return err
}

// emaDescription says which EMA decay the run uses.
func emaDescription(o trainer.Options) string {
	switch {
	case o.EMABeta <= 0:
		return fmt.Sprintf("final ramp (half-life min(%g kimg, %g x images seen))", o.EMAKimg, o.EMAWarmup)
	case o.EMARamp:
		return fmt.Sprintf("min(%g, (1+t)/(10+t))", o.EMABeta)
	}
	return fmt.Sprintf("%g", o.EMABeta)
}

// evalInfo applies the --eval-* flags over a run's evaluation settings
// (nil: none yet); nil when the run does not evaluate.
func evalInfo(c *cli.Context, prev *runfolder.EvalInfo, checkpointEvery int) (*runfolder.EvalInfo, error) {
	if prev == nil && !c.IsSet("eval-net") && !c.IsSet("eval-ref") {
		for _, f := range []string{"eval-every", "eval-n", "eval-seed", "eval-batch", "eval-input-range", "eval-input-size", "eval-pool-output", "eval-logits-output"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s needs --eval-net NET.onnx and --eval-ref REF.npz", f)
			}
		}
		return nil, nil
	}
	e := runfolder.EvalInfo{Every: checkpointEvery, N: c.Int("eval-n"), Batch: c.Int("eval-batch"),
		InputRange: c.String("eval-input-range"), Pool: c.String("eval-pool-output"), Logits: c.String("eval-logits-output")}
	if prev != nil {
		e = *prev
	}
	set := func(name string, apply func()) {
		if c.IsSet(name) {
			apply()
		}
	}
	set("eval-net", func() { e.Net = c.String("eval-net") })
	set("eval-ref", func() { e.Ref = c.String("eval-ref") })
	set("eval-every", func() { e.Every = c.Int("eval-every") })
	set("eval-n", func() { e.N = c.Int("eval-n") })
	set("eval-seed", func() { e.Seed = c.Int64("eval-seed") })
	set("eval-batch", func() { e.Batch = c.Int("eval-batch") })
	set("eval-input-range", func() { e.InputRange = c.String("eval-input-range") })
	set("eval-input-size", func() { e.InputSize = c.Int("eval-input-size") })
	set("eval-pool-output", func() { e.Pool = c.String("eval-pool-output") })
	set("eval-logits-output", func() { e.Logits = c.String("eval-logits-output") })
	switch {
	case e.Net == "" || e.Ref == "":
		return nil, errors.New("quality tracking needs both --eval-net NET.onnx and --eval-ref REF.npz")
	case e.Every <= 0:
		return nil, fmt.Errorf("--eval-every %d: must be positive", e.Every)
	case e.N < 2:
		return nil, fmt.Errorf("--eval-n %d: statistics need at least 2 images", e.N)
	case e.Batch <= 0:
		return nil, fmt.Errorf("--eval-batch %d: must be positive", e.Batch)
	}
	return &e, nil
}

// openEvaluator opens the network and statistics of e (nil: none) and
// checks them against the model's image size, before any training.
func openEvaluator(c *cli.Context, e *runfolder.EvalInfo, imageSize int) (*quality.Evaluator, error) {
	if e == nil {
		return nil, nil
	}
	rng, err := metrics.ParseRange(e.InputRange)
	if err != nil {
		return nil, fmt.Errorf("--eval-input-range: %w", err)
	}
	ref, err := metrics.ReadStats(e.Ref)
	if err != nil {
		return nil, fmt.Errorf("--eval-ref: %w", err)
	}
	net, err := quality.OpenNetwork(e.Net, runtime.Options{LibraryPath: c.String("ort-lib")}, metrics.NetworkOptions{
		Pool: e.Pool, Logits: e.Logits, InputSize: e.InputSize, Range: rng, LogitsOptional: true,
	})
	if err != nil {
		return nil, fmt.Errorf("--eval-net: %w", err)
	}
	ev := &quality.Evaluator{Net: net, Ref: ref, RefPath: e.Ref, N: e.N, Seed: e.Seed, Batch: e.Batch,
		Score: quality.ScoreOptions{KID: metrics.KIDOptions{Subsets: 10}}}
	if err := ev.Check(imageSize); err != nil {
		net.Close()
		return nil, err
	}
	return ev, nil
}

func openDataset(info runfolder.Info, size int) (dataset.Source, error) {
	return dataset.Open(info.Dataset, info.Data, size)
}

func newRun(c *cli.Context) (*runfolder.Run, func(), error) {
	if c.String("out") == "" {
		return nil, nil, errors.New("--out RUN_DIR is required (or --resume RUN_DIR)")
	}
	if c.String("dataset") == "" {
		return nil, nil, errors.New("--dataset is required: " + kindList())
	}
	cfg, opts, err := modelConfig(c)
	if err != nil {
		return nil, nil, err
	}
	if err := flagOptions(c, &opts); err != nil {
		return nil, nil, err
	}
	if err := opts.Defaults(cfg).Validate(); err != nil {
		return nil, nil, err
	}
	info := runfolder.Info{Dataset: c.String("dataset"), Data: c.String("data"), CheckpointEvery: c.Int("checkpoint-every"), Keep: c.Int("keep"),
		NoTensorBoard: c.Bool("no-tensorboard")}
	if info.Eval, err = evalInfo(c, nil, info.CheckpointEvery); err != nil {
		return nil, nil, err
	}
	// Bad evaluation input fails here, before the run folder exists.
	ev, err := openEvaluator(c, info.Eval, cfg.ImageSize)
	if err != nil {
		return nil, nil, err
	}
	run, closeExec, err := startRun(c, cfg, opts, info)
	if err != nil {
		if ev != nil {
			ev.Net.Close()
		}
		return nil, nil, err
	}
	run.Evaluator = ev
	return run, closeExec, nil
}

// startRun opens the dataset, builds the trainer, sets up its executor and
// only then creates the run folder, so that an executor that cannot start
// (no CUDA library, a bad --ort-lib) leaves no folder behind. It returns the
// function that releases the executor's sessions.
func startRun(c *cli.Context, cfg *model.Config, opts trainer.Options, info runfolder.Info) (*runfolder.Run, func(), error) {
	if info.Data == "" {
		info.Data = dataset.DefaultPath(dataset.Kind(info.Dataset))
	}
	src, err := dataset.Open(info.Dataset, info.Data, cfg.ImageSize)
	if err != nil {
		return nil, nil, err
	}
	t, err := trainer.New(cfg, opts, src)
	if err != nil {
		return nil, nil, err
	}
	if p := c.String("init"); p != "" {
		ck, err := checkpoint.Load(p)
		if err != nil {
			return nil, nil, err
		}
		if err := t.LoadWeights(ck); err != nil {
			return nil, nil, fmt.Errorf("--init %s: %w", p, err)
		}
	}
	closeExec, err := useExecutor(c, t)
	if err != nil {
		return nil, nil, err
	}
	run, err := runfolder.New(c.String("out"), info, t)
	if err != nil {
		closeExec()
		return nil, nil, err
	}
	return run, closeExec, nil
}

// modelConfig reads --preset or --config; a run's config.yaml also brings
// its training options.
func modelConfig(c *cli.Context) (*model.Config, trainer.Options, error) {
	var opts trainer.Options
	preset, file := c.String("preset"), c.String("config")
	switch {
	case preset != "" && file != "":
		return nil, opts, errors.New("give --preset or --config, not both")
	case preset != "":
		cfg, err := model.Preset(preset)
		return cfg, trainer.PresetOptions(preset), err
	case file == "":
		return nil, opts, errors.New("--preset NAME or --config FILE.yaml is required")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, opts, err
	}
	var probe map[string]any
	if err := yaml.Unmarshal(b, &probe); err != nil {
		return nil, opts, fmt.Errorf("%s: %w", file, err)
	}
	cfg := &model.Config{}
	if _, ok := probe["model"]; ok {
		eff := runfolder.EffectiveConfig{Model: cfg}
		if err := yaml.Unmarshal(b, &eff); err != nil {
			return nil, opts, fmt.Errorf("%s: %w", file, err)
		}
		opts = eff.Train
	} else if err := yaml.Unmarshal(b, cfg); err != nil {
		return nil, opts, fmt.Errorf("%s: %w", file, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, opts, fmt.Errorf("%s: %w", file, err)
	}
	if _, ok := probe["model"]; !ok {
		// A bare model file brings no recipe: the final code's G-loss
		// gradient leak is its default, as with the final presets.
		opts.GradLeak = cfg.Version == model.Final
	}
	return cfg, opts, nil
}

// flagOptions applies the training flags that were set over opts.
func flagOptions(c *cli.Context, o *trainer.Options) error {
	if c.IsSet("seed") || o.Seed == 0 {
		o.Seed = c.Int64("seed")
	}
	if c.IsSet("batch") {
		o.DisBatch, o.GenBatch = c.Int("batch"), 2*c.Int("batch")
	}
	setInt := func(name string, dst *int) {
		if c.IsSet(name) {
			*dst = c.Int(name)
		}
	}
	setInt("gen-batch", &o.GenBatch)
	setInt("dis-batch", &o.DisBatch)
	setInt("n-critic", &o.NCritic)
	setInt("mask-epoch-steps", &o.MaskEpochSteps)
	setInt("samples", &o.Samples)
	if c.IsSet("loss") {
		o.Loss = c.String("loss")
	}
	if c.IsSet("lr") {
		o.LRG, o.LRD = c.Float64("lr"), c.Float64("lr")
	}
	if c.IsSet("augment") {
		o.Augment = c.String("augment")
	}
	if c.IsSet("ema-beta") {
		o.EMABeta = c.Float64("ema-beta")
	}
	if c.IsSet("sr-weight") {
		o.SRWeight = c.Float64("sr-weight")
	}
	return recipeFlags(c, o)
}
