package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/dataset"
	"github.com/tgan-dev/tgan/model"
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
			"Resumes one:  tgan train --resume RUN --steps 4000 (continues to 4000 G steps in total)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "preset", Usage: "model preset (" + strings.Join(model.PresetNames(), ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "model config `FILE.yaml` (a bare model config, or a run's config.yaml)"},
			&cli.StringFlag{Name: "dataset", Usage: "dataset kind: " + kindList()},
			&cli.StringFlag{Name: "data", Usage: "dataset `PATH` (default for fashion-mnist: " + dataset.DefaultFashionMNIST + ")"},
			&cli.StringFlag{Name: "out", Usage: "run folder `DIR` to create"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in `DIR` from its latest checkpoint"},
			&cli.IntFlag{Name: "steps", Usage: "total generator updates to reach", Required: true},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of every random draw (weights, data order, z, augmentation)"},
			&cli.IntFlag{Name: "checkpoint-every", Value: 500, Usage: "save a checkpoint and a sample grid every `K` G steps"},
			&cli.IntFlag{Name: "keep", Value: 3, Usage: "checkpoints to keep"},
			&cli.IntFlag{Name: "batch", Usage: "D batch size; G batch is twice it (official ratio) unless --gen-batch"},
			&cli.IntFlag{Name: "gen-batch", Usage: "G-step batch size"},
			&cli.IntFlag{Name: "dis-batch", Usage: "D-step batch size"},
			&cli.StringFlag{Name: "loss", Usage: "loss: " + strings.Join(trainer.Losses(), ", ") + " (default wgangp-eps)"},
			&cli.IntFlag{Name: "n-critic", Usage: "D steps per G step (default 5 for v1, 4 for final)"},
			&cli.Float64Flag{Name: "lr", Usage: "Adam learning rate of G and D (default 1e-4)"},
			&cli.StringFlag{Name: "augment", Usage: "DiffAugment policy (default translation,cutout,color; none to disable)"},
			&cli.Float64Flag{Name: "ema-beta", Usage: "fixed EMA decay per G step, no warm-up (default v1: 0.999 after the warm-up (1+t)/(10+t) at G step t; final: the final code's ramp); negative: the final code's ramp"},
			&cli.IntFlag{Name: "mask-epoch-steps", Usage: "v1 mask schedule: count an epoch as this many iterations (default: dataset passes)"},
			&cli.IntFlag{Name: "samples", Usage: "images in each sample grid (default 64)"},
			&cli.StringFlag{Name: "init", Usage: "start from the weights of `CKPT` (a tgan checkpoint; fresh optimizer)"},
			&cli.Float64Flag{Name: "sr-weight", Usage: fmt.Sprintf("v1 multi-task co-training: weight `W` of the auxiliary super-resolution MSE added to the G loss (0: off; the paper gives no value, %g is tgan's suggestion)", trainer.DefaultSRWeight)},
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
	if n := c.Int("steps"); n <= 0 {
		return fmt.Errorf("--steps %d: must be positive (the total number of G steps to reach)", n)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	var run *trainer.Run
	var err error
	if dir := c.String("resume"); dir != "" {
		for _, f := range []string{"preset", "config", "out", "dataset", "init", "sr-weight"} {
			if c.IsSet(f) {
				return fmt.Errorf("--resume continues a run as it was configured: drop --%s", f)
			}
		}
		run, err = trainer.OpenRun(dir, openDataset)
		if err == nil && c.IsSet("checkpoint-every") {
			run.Info.CheckpointEvery = c.Int("checkpoint-every")
		}
		if err == nil && c.IsSet("keep") {
			run.Info.Keep = c.Int("keep")
		}
	} else {
		run, err = newRun(c)
	}
	if err != nil {
		return err
	}
	defer run.Close()
	run.Progress, run.Log = os.Stderr, os.Stderr
	run.Plain, run.PlainEvery = !term.IsTerminal(int(os.Stderr.Fd())), 10
	t := run.Trainer
	fmt.Fprintf(os.Stderr, "training %s: G step %d -> %d, loss %s, batches G %d / D %d, n_critic %d\n",
		run.Dir, t.GSteps, c.Int("steps"), t.Opts.Loss, t.Opts.GenBatch, t.Opts.DisBatch, t.Opts.NCritic)
	if t.Opts.SRWeight > 0 {
		fmt.Fprintf(os.Stderr, "multi-task co-training: super-resolution loss weight %g\n", t.Opts.SRWeight)
	}
	err = run.Train(ctx, c.Int("steps"))
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(os.Stderr, "stopped: resume with tgan train --resume %s --steps %d\n", run.Dir, c.Int("steps"))
		return nil
	}
	return err
}

func openDataset(info trainer.RunInfo, size int) (dataset.Source, error) {
	return dataset.Open(info.Dataset, info.Data, size)
}

func newRun(c *cli.Context) (*trainer.Run, error) {
	if c.String("out") == "" {
		return nil, errors.New("--out RUN_DIR is required (or --resume RUN_DIR)")
	}
	if c.String("dataset") == "" {
		return nil, errors.New("--dataset is required: " + kindList())
	}
	cfg, opts, err := modelConfig(c)
	if err != nil {
		return nil, err
	}
	flagOptions(c, &opts)
	if err := opts.Defaults(cfg).Validate(); err != nil {
		return nil, err
	}
	info := trainer.RunInfo{Dataset: c.String("dataset"), Data: c.String("data"), CheckpointEvery: c.Int("checkpoint-every"), Keep: c.Int("keep")}
	if info.Data == "" {
		info.Data = dataset.DefaultPath(dataset.Kind(info.Dataset))
	}
	src, err := dataset.Open(info.Dataset, info.Data, cfg.ImageSize)
	if err != nil {
		return nil, err
	}
	t, err := trainer.New(cfg, opts, src)
	if err != nil {
		return nil, err
	}
	if p := c.String("init"); p != "" {
		ck, err := checkpoint.Load(p)
		if err != nil {
			return nil, err
		}
		if err := t.LoadWeights(ck); err != nil {
			return nil, fmt.Errorf("--init %s: %w", p, err)
		}
	}
	return trainer.NewRun(c.String("out"), info, t)
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
		eff := trainer.EffectiveConfig{Model: cfg}
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
	return cfg, opts, nil
}

// flagOptions applies the training flags that were set over opts.
func flagOptions(c *cli.Context, o *trainer.Options) {
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
}
