package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/runtime"
	"github.com/urfave/cli/v2"
)

// TestTrainExecutorErrors: bad --executor/--provider values are one line
// each and are rejected before a run folder is created.
func TestTrainExecutorErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--executor", "tape"}, `--executor "tape": want gorgonia or ort`},
		{[]string{"--provider", "tpu"}, `--provider "tpu": want cpu, cuda or auto`},
		{[]string{"--executor", "gorgonia", "--provider", "cuda"}, "--provider cuda needs --executor ort"},
	} {
		out := filepath.Join(dir, "run")
		args := append([]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir, "--out", out, "--steps", "1"}, c.args...)
		err := runTrainApp(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want one line containing %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: run folder created", c.args)
		}
	}
}

// TestCrashSafetyGorgonia is TestCrashSafety (which runs the default
// executor, ONNX Runtime where installed) for the other executor, shorter:
// SIGKILL at a random moment and during a checkpoint write, each resume
// continues from the latest checkpoint, and a final resume reaches its
// target.
func TestCrashSafetyGorgonia(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for ~20s")
	}
	bin := buildTgan(t)
	tmp := t.TempDir()
	data := syntheticCIFAR(t, filepath.Join(tmp, "cifar"))
	run := filepath.Join(tmp, "run")
	const far = 100000
	tr := startTrain(t, bin, "train", "--preset", "tiny", "--dataset", "cifar10", "--data", data, "--out", run,
		"--steps", strconv.Itoa(far), "--checkpoint-every", "1", "--batch", "4", "--samples", "4", "--keep", "2",
		"--executor", "gorgonia")
	tr.waitSaved(t, 1)
	if !strings.Contains(tr.output(), "executor: gorgonia") {
		t.Fatalf("not on the Gorgonia executor:\n%s", tr.output())
	}
	step := 1
	for round := 0; round < 2; round++ {
		if round == 1 && !waitTempFile(run, 20*time.Second) {
			t.Fatal("no checkpoint temp file seen within 20s")
		}
		reported := tr.saved()
		tr.kill(t)
		latest, _ := checkRun(t, run, reported)
		if latest < step {
			t.Errorf("round %d: latest %d went back from %d", round, latest, step)
		}
		step = latest
		tr = startTrain(t, bin, "train", "--resume", run, "--steps", strconv.Itoa(far), "--executor", "gorgonia")
		tr.waitSaved(t, step+1)
	}
	tr.kill(t)
	final, _ := checkRun(t, run, tr.saved())
	tr = startTrain(t, bin, "train", "--resume", run, "--steps", strconv.Itoa(final+2), "--executor", "gorgonia")
	if err := <-tr.done; err != nil {
		t.Fatalf("final resume: %v\n%s", err, tr.output())
	}
	if got, _ := checkRun(t, run, final+2); got != final+2 {
		t.Errorf("final resume ended at step %d, want %d", got, final+2)
	}
}

// TestDefaultExecutor: ort when ONNX Runtime is found, else the tape
// machine with a note; an explicit request for ort never falls back.
func TestDefaultExecutor(t *testing.T) {
	choose := func(args ...string) (exec, note string, err error) {
		app := &cli.App{Name: "t", Flags: append(executorFlags(), &cli.StringFlag{Name: "ort-lib"}),
			Action: func(c *cli.Context) error {
				var e error
				exec, _, note, e = executorChoice(c)
				return e
			}}
		err = app.Run(append([]string{"t"}, args...))
		return
	}
	if _, err := runtime.FindLibrary("", false); err == nil {
		if exec, note, err := choose(); exec != "ort" || note != "" || err != nil {
			t.Errorf("with a library: %q %q %v, want ort", exec, note, err)
		}
	}
	t.Setenv(runtime.LibraryEnvVar, filepath.Join(t.TempDir(), "missing.so"))
	if exec, note, err := choose(); exec != "gorgonia" || !strings.Contains(note, "no ONNX Runtime library") || err != nil {
		t.Errorf("without a library: %q %q %v, want gorgonia and a note", exec, note, err)
	}
	if exec, _, err := choose("--executor", "ort"); exec != "ort" || err != nil {
		t.Errorf("--executor ort without a library: %q %v, want ort (its session then fails)", exec, err)
	}
	if exec, _, err := choose("--provider", "cpu"); exec != "ort" || err != nil {
		t.Errorf("--provider cpu: %q %v, want ort", exec, err)
	}
}

// TestTrainExecutorStartFailureLeavesNoRun: an executor that cannot start
// (the CUDA provider on a machine without it, an ONNX Runtime library that
// does not exist) fails in one line before the run folder is created.
func TestTrainExecutorStartFailureLeavesNoRun(t *testing.T) {
	dir := t.TempDir()
	data := syntheticCIFAR(t, filepath.Join(dir, "cifar"))
	for i, extra := range [][]string{
		{"--executor", "ort", "--ort-lib", filepath.Join(dir, "no-such-libonnxruntime.so")},
		{"--executor", "ort", "--provider", "cuda"},
	} {
		out := filepath.Join(dir, "run"+strconv.Itoa(i))
		args := append([]string{"--preset", "tiny", "--dataset", "cifar10", "--data", data, "--out", out, "--steps", "1", "--batch", "4"}, extra...)
		err := runTrainApp(t, args...)
		if err == nil && extra[3] == "cuda" {
			t.Logf("the CUDA provider works on this machine: nothing to check for %v", extra)
			continue
		}
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want a one-line error", extra, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: run folder %s was created", extra, out)
		}
	}
}
