package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/runtime"
	"github.com/tgan-dev/tgan/trainer"
	"github.com/urfave/cli/v2"
)

// executorFlags select what runs the training graphs.
func executorFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "executor", Usage: "what runs the training graphs: ort (the graphs lowered to ONNX, run by ONNX Runtime: less memory, faster; the default when the ONNX Runtime library is found) or gorgonia (Gorgonia's tape machine, the reference; the default otherwise)"},
		&cli.StringFlag{Name: "provider", Usage: "ONNX Runtime provider for --executor ort: cpu (default), cuda (never falls back) or auto (cuda, else cpu with the reason); library from --ort-lib"},
		deviceFlag(),
		&cli.BoolFlag{Name: "low-memory", Usage: "--executor ort on the CPU: return the heap's free pages to the system after every ONNX Runtime run (peak memory of the largest run, e.g. 0.72 instead of 1.0 GiB for a 16x16 v1 model at batch 32, for ~4x the time: every run faults its memory in again)"},
	}
}

// executorChoice reads --executor, --provider and --device (checked before
// a run folder is created). Without --executor, ort is chosen when an ONNX
// Runtime library is found (or --provider/--ort-lib ask for it); note says
// why the tape machine runs instead.
func executorChoice(c *cli.Context) (exec string, p runtime.Provider, note string, err error) {
	exec = c.String("executor")
	if exec == "" {
		exec = trainer.ExecutorORT
		if _, err := runtime.FindLibrary(c.String("ort-lib"), false); err != nil && !c.IsSet("provider") && !c.IsSet("ort-lib") {
			exec, note = trainer.ExecutorGorgonia, "no ONNX Runtime library found (scripts/setup.sh installs one)"
		}
	}
	if exec != trainer.ExecutorGorgonia && exec != trainer.ExecutorORT {
		return "", "", "", fmt.Errorf("--executor %q: want %s or %s", exec, trainer.ExecutorGorgonia, trainer.ExecutorORT)
	}
	if err := checkDevice(c); err != nil {
		return "", "", "", err
	}
	if c.IsSet("device") && exec == trainer.ExecutorGorgonia {
		return "", "", "", fmt.Errorf("--device %d needs --executor ort (the Gorgonia executor runs on the CPU only)", c.Int("device"))
	}
	if !c.IsSet("provider") {
		return exec, "", note, nil
	}
	if p, err = runtime.ParseProvider(c.String("provider")); err != nil {
		return "", "", "", fmt.Errorf("--provider %q: want cpu, cuda or auto", c.String("provider"))
	}
	if exec == trainer.ExecutorGorgonia && p != runtime.CPU {
		return "", "", "", fmt.Errorf("--provider %s needs --executor ort (the Gorgonia executor runs on the CPU only)", p)
	}
	return exec, p, note, nil
}

// useExecutor applies --executor, --provider and --device to t and returns
// the function that releases its sessions.
func useExecutor(c *cli.Context, t *trainer.Trainer) (func(), error) {
	exec, p, note, err := executorChoice(c)
	if err != nil {
		return func() {}, err
	}
	if note != "" {
		fmt.Fprintf(os.Stderr, "executor: %s\n", note)
	}
	if err := t.SetORTDevice(c.Int("device")); err != nil {
		return func() {}, err
	}
	lower.ReturnFreedMemory(c.Bool("low-memory"))
	fallback, err := t.UseExecutor(exec, p, c.String("ort-lib"))
	if err != nil {
		return func() {}, fmt.Errorf("--executor %s: %w", exec, err)
	}
	if fallback != "" {
		fmt.Fprintf(os.Stderr, "provider auto: CUDA unavailable (%s); training on CPU\n", oneLine(errors.New(fallback)))
	}
	fmt.Fprintf(os.Stderr, "executor: %s\n", t.ExecutorName())
	return func() { t.Close() }, nil
}
