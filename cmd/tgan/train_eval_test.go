package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runfolder"
	"github.com/tgan-dev/tgan/runtime"
)

// microConfigFile writes testkit's micro v1 config (8x8 images, one block
// per stage), small enough to train in a test.
func microConfigFile(t *testing.T, dir string) string {
	t.Helper()
	cfg := testkit.MicroConfig(t)
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "micro.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fidOf runs tgan stats on model (extra flags first) and tgan fid against
// ref, and returns the printed FD.
func fidOf(t *testing.T, ref string, args ...string) float64 {
	t.Helper()
	gen := filepath.Join(t.TempDir(), "gen.npz")
	stats := append([]string{"stats", "--inception", evalFile("tiny_inception.onnx"), "--n", "20", "--batch", "8", "--out", gen}, args...)
	if out, err := runApp(t, stats...); err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	out, err := runApp(t, "fid", gen, ref)
	if err != nil {
		t.Fatalf("fid: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^fid: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no fid line in %q", out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func evalRows(t *testing.T, run string) map[int]runfolder.Metric {
	t.Helper()
	rows, err := runfolder.ReadMetrics(filepath.Join(run, runfolder.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]runfolder.Metric{}
	for _, m := range rows {
		if m.FDEMA != nil {
			got[m.GStep] = m
		}
	}
	return got
}

// TestTrainQualityTracking: the FD that training logs for the EMA G and for
// G equals tgan stats + tgan fid on the saved checkpoints; the best
// checkpoint is the one with the lowest EMA FD and survives --keep 1; a
// resumed run continues the history; fd.png is drawn.
func TestTrainQualityTracking(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	dir := t.TempDir()
	cfg, data, run := microConfigFile(t, dir), evalFile("data.bin"), filepath.Join(dir, "run")
	ref := filepath.Join(dir, "ref.npz")
	if out, err := runApp(t, "stats", "--inception", evalFile("tiny_inception.onnx"), "--dataset", "cifar10",
		"--data", data, "--image-size", "8", "--out", ref); err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	train := []string{"train", "--config", cfg, "--dataset", "cifar10", "--data", data, "--out", run,
		"--batch", "2", "--gen-batch", "3", "--n-critic", "2", "--samples", "4", "--checkpoint-every", "2", "--keep", "1",
		"--eval-net", evalFile("tiny_inception.onnx"), "--eval-ref", ref, "--eval-every", "2", "--eval-n", "20", "--eval-batch", "8",
		"--steps", "4"}
	if out, err := runApp(t, train...); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	rows := evalRows(t, run)
	if len(rows) != 2 || rows[2].FDEMA == nil || rows[4].FDEMA == nil {
		t.Fatalf("evaluations at G steps %v, want 2 and 4", rows)
	}
	last := rows[4]
	if last.KIDEMA == nil || last.ISEMA == nil || last.EvalS == nil || last.EvalN != 20 {
		t.Errorf("row of G step 4 lacks KID, IS, eval time or n: %+v", last)
	}
	latest := filepath.Join(run, runfolder.CheckpointName(4))
	checkRel(t, "EMA G FD at G step 4 vs tgan stats + fid", fidOf(t, ref, latest), *last.FDEMA, 1e-6)
	checkRel(t, "G FD at G step 4 vs tgan stats --raw-generator + fid", fidOf(t, ref, "--raw-generator", latest), *last.FDRaw, 1e-6)
	if p := last.EvalPRDC; p == nil || p.PRK != 3 {
		t.Errorf("row of G step 4 lacks precision/recall/density/coverage: %+v", p)
	} else if e := prdcOf(t, ref, latest); *e.Precision != *p.PrecisionEMA || *e.Recall != *p.RecallEMA ||
		*e.Density != *p.DensityEMA || *e.Coverage != *p.CoverageEMA {
		t.Errorf("EMA G PRDC at G step 4: training %v %v %v %v, tgan eval %+v", *p.PrecisionEMA, *p.RecallEMA, *p.DensityEMA, *p.CoverageEMA, e)
	}

	best := filepath.Join(run, runfolder.BestFile)
	wantStep := 2
	if *rows[4].FDEMA < *rows[2].FDEMA {
		wantStep = 4
	}
	ck, err := checkpoint.Load(best)
	if err != nil {
		t.Fatalf("best checkpoint: %v", err)
	}
	var info struct {
		GStep int     `json:"g_step"`
		FD    float64 `json:"fd"`
	}
	if err := json.Unmarshal([]byte(ck.Meta["best"]), &info); err != nil || info.GStep != wantStep {
		t.Fatalf("best checkpoint of G step %d (%v), want %d", info.GStep, err, wantStep)
	}
	checkRel(t, "best checkpoint FD vs tgan stats + fid", fidOf(t, ref, best), info.FD, 1e-6)
	for _, f := range []string{runfolder.FDPlot, runfolder.CheckpointName(4)} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(run, runfolder.CheckpointName(2))); err == nil {
		t.Error("--keep 1 kept ckpt-2")
	}

	// Resume: the history continues (evaluations at 2, 4, 6).
	if out, err := runApp(t, "train", "--resume", run, "--steps", "6"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	before := rows
	rows = evalRows(t, run)
	if len(rows) != 3 || rows[6].FDEMA == nil || *rows[2].FDEMA != *before[2].FDEMA || *rows[4].FDEMA != *before[4].FDEMA {
		t.Fatalf("after resume: evaluations at %v, want 2, 4 (as before), 6", rows)
	}
	if *rows[6].EvalTotalS < *rows[4].EvalTotalS+*rows[6].EvalS-1e-9 {
		t.Errorf("evaluation time does not add up over sessions: %v then %v + %v", *rows[4].EvalTotalS, *rows[6].EvalTotalS, *rows[6].EvalS)
	}
	checkRel(t, "EMA G FD after resume", fidOf(t, ref, run), *rows[6].FDEMA, 1e-6)
	min := math.Min(*rows[2].FDEMA, math.Min(*rows[4].FDEMA, *rows[6].FDEMA))
	ck, err = checkpoint.Load(best)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(ck.Meta["best"]), &info)
	if info.FD != min {
		t.Errorf("best checkpoint FD %v, want the lowest of the history %v", info.FD, min)
	}
}

// TestTrainEvalBadInput: a network without the pool output, or statistics
// of another dimension, fail before the run folder is created, with an
// error naming the file.
func TestTrainEvalBadInput(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	dir := t.TempDir()
	cfg, data := microConfigFile(t, dir), evalFile("data.bin")
	ref := filepath.Join(dir, "ref.npz")
	if out, err := runApp(t, "stats", "--inception", evalFile("tiny_inception.onnx"), "--dataset", "cifar10",
		"--data", data, "--image-size", "8", "--n", "10", "--out", ref); err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name, net, ref, want string
	}{
		{"network without pool", evalFile("tiny_gen.onnx"), ref, "tiny_gen.onnx"},
		{"statistics of another dimension", evalFile("tiny_inception.onnx"), evalFile("ttur_a.npz"), "ttur_a.npz: the statistics are 64-d"},
		{"missing statistics", evalFile("tiny_inception.onnx"), filepath.Join(dir, "none.npz"), "none.npz"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			_, err := runApp(t, "train", "--config", cfg, "--dataset", "cifar10", "--data", data, "--out", run,
				"--eval-net", c.net, "--eval-ref", c.ref, "--steps", "2")
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("err = %v, want one line containing %q", err, c.want)
			}
			if _, err := os.Stat(run); err == nil {
				t.Error("the run folder was created before the evaluation input was checked")
			}
		})
	}
	if err := runTrainApp(t, "--config", cfg, "--dataset", "cifar10", "--data", data, "--out", filepath.Join(dir, "r"), "--eval-n", "9", "--steps", "1"); err == nil || !strings.Contains(err.Error(), "--eval-net") {
		t.Errorf("--eval-n without --eval-net: %v", err)
	}
	if err := runTrainApp(t, "--preset", "tiny", "--dataset", "cifar10", "--out", filepath.Join(dir, "r")); err == nil || !strings.Contains(err.Error(), "--minutes") {
		t.Errorf("neither --steps nor --minutes: %v", err)
	}
}
