package main

import (
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/internal/fileio/tfevents/tfread"
)

// TestTensorBoardAfterSIGKILL kills tgan train with SIGKILL at a random
// moment: the events file still reads (complete records, at most a torn
// last one, never a bad checksum); after a resume to a reachable target
// every scalar tag holds each G step exactly once, in order. A second run
// with --no-tensorboard writes no events file.
func TestTensorBoardAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and trains")
	}
	bin := buildTgan(t)
	tmp := t.TempDir()
	data := syntheticCIFAR(t, filepath.Join(tmp, "cifar"))
	run := filepath.Join(tmp, "run")
	tr := startTrain(t, bin, "train", "--preset", "tiny", "--dataset", "cifar10", "--data", data, "--out", run,
		"--steps", "100000", "--checkpoint-every", "2", "--batch", "4", "--samples", "4", "--keep", "2")
	tr.waitSaved(t, 2)
	time.Sleep(time.Duration(rand.Intn(800)) * time.Millisecond)
	tr.kill(t)
	latest, _ := checkRun(t, run, 2)
	events, torn, err := tfread.ReadDir(run)
	if err != nil {
		t.Fatalf("events after SIGKILL: %v", err)
	}
	for f, tail := range torn {
		if !errors.Is(tail, tfread.ErrTorn) {
			t.Fatalf("%s after SIGKILL: %v (only a torn last record is expected)", f, tail)
		}
	}
	steps := tagSteps(events)["loss/d_loss"]
	if len(steps) < latest {
		t.Fatalf("after SIGKILL: loss/d_loss at %d steps, the checkpoint is at %d", len(steps), latest)
	}
	t.Logf("killed with loss/d_loss at %d steps, a torn record in %d files, latest checkpoint at step %d", len(steps), len(torn), latest)
	final := latest + 3
	tr = startTrain(t, bin, "train", "--resume", run, "--steps", strconv.Itoa(final))
	if err := <-tr.done; err != nil {
		t.Fatalf("resume: %v\n%s", err, tr.output())
	}
	events, torn, err = tfread.ReadDir(run)
	if err != nil || len(torn) != 0 {
		t.Fatalf("events after the resume: %v, files ending early %v", err, torn)
	}
	byTag := tagSteps(events)
	for _, tag := range []string{"loss/d_loss", "loss/g_loss", "loss/gp", "critic/wasserstein", "lr/lr_g", "ema/decay", "speed/images_per_s"} {
		got := byTag[tag]
		if len(got) != final {
			t.Errorf("%s: %d steps, want 1..%d once each", tag, len(got), final)
			continue
		}
		for i, s := range got {
			if s != int64(i+1) {
				t.Errorf("%s: steps %v, want 1..%d once each", tag, got, final)
				break
			}
		}
	}
	if g := byTag["samples"]; len(g) == 0 || g[len(g)-1] != int64(final) {
		t.Errorf("sample grids at steps %v, want the last at %d", g, final)
	}

	off := filepath.Join(tmp, "off")
	tr = startTrain(t, bin, "train", "--preset", "tiny", "--dataset", "cifar10", "--data", data, "--out", off,
		"--steps", "1", "--batch", "4", "--samples", "4", "--no-tensorboard")
	if err := <-tr.done; err != nil {
		t.Fatalf("--no-tensorboard: %v\n%s", err, tr.output())
	}
	if files, _ := filepath.Glob(filepath.Join(off, "events.out.tfevents.*")); len(files) != 0 {
		t.Errorf("--no-tensorboard wrote %v", files)
	}
	if _, err := os.Stat(filepath.Join(off, "metrics.jsonl")); err != nil {
		t.Error(err)
	}
}

// tagSteps lists, per tag, the steps of its values in reading order.
func tagSteps(events []tfread.Event) map[string][]int64 {
	m := map[string][]int64{}
	for _, e := range events {
		for _, v := range e.Values {
			m[v.Tag] = append(m[v.Tag], e.Step)
		}
	}
	return m
}
