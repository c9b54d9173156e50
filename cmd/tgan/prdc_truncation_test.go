package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
)

// TestEvalPRDC: tgan eval --metrics prdc prints and writes precision,
// recall, density and coverage equal to metrics.ComputePRDC on the
// reference's stored features and the generated features (--save-stats);
// --pr-k changes them; a reference without features, or with too few for
// k, is one line saying what to do.
func TestEvalPRDC(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	tmp := t.TempDir()
	net := []string{"--inception", evalFile("tiny_inception.onnx"), "--batch", "16"}
	ref, bare := filepath.Join(tmp, "ref.npz"), filepath.Join(tmp, "bare.npz")
	for path, feats := range map[string]string{ref: "true", bare: "false"} {
		if out, err := runApp(t, append(append([]string{"stats"}, net...), "--dataset", "cifar10",
			"--data", evalFile("data.bin"), "--features="+feats, "--out", path)...); err != nil {
			t.Fatalf("stats: %v\n%s", err, out)
		}
	}
	refStats, err := metrics.ReadStats(ref)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{3, 5} {
		js, gen := filepath.Join(tmp, "e.json"), filepath.Join(tmp, "gen.npz")
		out, err := runApp(t, append(append([]string{"eval"}, net...), "--ref", ref, "--z", evalFile("z.npy"),
			"--metrics", "prdc", "--pr-k", strconv.Itoa(k), "--json", js, "--save-stats", gen, evalFile("tiny_gen.onnx"))...)
		if err != nil {
			t.Fatalf("eval: %v\n%s", err, out)
		}
		genStats, err := metrics.ReadStats(gen)
		if err != nil {
			t.Fatal(err)
		}
		want, err := metrics.ComputePRDC(refStats.Features, refStats.N, genStats.Features, genStats.N, 8, k)
		if err != nil {
			t.Fatal(err)
		}
		var res evalResult
		b, _ := os.ReadFile(js)
		if err := json.Unmarshal(b, &res); err != nil || res.Precision == nil || res.FID != nil {
			t.Fatalf("eval json: %v\n%s", err, b)
		}
		if *res.Precision != want.Precision || *res.Recall != want.Recall || *res.Density != want.Density ||
			*res.Coverage != want.Coverage || res.PRK != k {
			t.Errorf("k=%d: json %s, metrics.ComputePRDC %+v", k, b, want)
		}
		if want.Precision == 0 || want.Precision == 1 || want.Coverage == 0 {
			t.Errorf("k=%d: a degenerate case %+v checks little", k, want)
		}
		m := regexp.MustCompile(`(?m)^precision: (\S+) \(k=(\d+)\)$`).FindStringSubmatch(out)
		if m == nil || m[2] != strconv.Itoa(k) {
			t.Fatalf("no precision line for k=%d in:\n%s", k, out)
		}
		if v, _ := strconv.ParseFloat(m[1], 64); math.Abs(v-want.Precision) > 1e-5 {
			t.Errorf("printed precision %s, want %g", m[1], want.Precision)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ref", bare, "--metrics", "prdc"}, "tgan stats"},
		{[]string{"--ref", ref, "--metrics", "fid,prdc", "--pr-k", "60"}, "--pr-k 60"},
		{[]string{"--ref", ref, "--metrics", "prdc", "--pr-k", "0"}, "--pr-k 0"},
		{[]string{"--ref", ref, "--metrics", "prd"}, "unknown metric"},
	} {
		out, err := runApp(t, append(append(append([]string{"eval"}, net...), c.args...), "--z", evalFile("z.npy"), evalFile("tiny_gen.onnx"))...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q\n%s", c.args, err, c.want, out)
		}
	}
}

// prdcOf is tgan eval --metrics prdc of a model as the training
// evaluations of TestTrainQualityTracking see it (20 images, batches of 8,
// seed 0).
func prdcOf(t *testing.T, ref string, args ...string) evalResult {
	t.Helper()
	js := filepath.Join(t.TempDir(), "e.json")
	eval := append([]string{"eval", "--inception", evalFile("tiny_inception.onnx"), "--n", "20", "--batch", "8",
		"--metrics", "prdc", "--ref", ref, "--json", js}, args...)
	if out, err := runApp(t, eval...); err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	var r evalResult
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &r); err != nil || r.Precision == nil {
		t.Fatalf("eval json: %v\n%s", err, b)
	}
	return r
}

// TestTruncationCommands: --truncation T draws the same latents in infer
// and eval as engine.SampleLatents (fed through --z, the results are
// identical); a huge T is no truncation bit for bit; T is recorded in the
// PNGs, the eval JSON and the stats file; misuse is one line.
func TestTruncationCommands(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	tmp := t.TempDir()
	gen := evalFile("tiny_gen.onnx")
	z := filepath.Join(tmp, "z.npy")
	if err := npy.WriteFloat32(z, engine.SampleLatents(4, 9, 8, 0.5), []int{9, 8}); err != nil {
		t.Fatal(err)
	}
	infer := func(args ...string) []float32 {
		t.Helper()
		raw := filepath.Join(tmp, "raw.npy")
		if out, err := runApp(t, append(append([]string{"infer", "--raw", raw}, args...), gen)...); err != nil {
			t.Fatalf("infer %v: %v\n%s", args, err, out)
		}
		x, _, err := npy.ReadFloat32(raw)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	dir := filepath.Join(tmp, "png")
	trunc := infer("--seed", "4", "--n", "9", "--truncation", "0.5", "--out", dir)
	if !slices.Equal(trunc, infer("--z", z, "--out", "")) {
		t.Error("infer --seed 4 --truncation 0.5 differs from --z SampleLatents(4, 9, 8, 0.5)")
	}
	plain := infer("--seed", "4", "--n", "9", "--out", "")
	if !slices.Equal(plain, infer("--seed", "4", "--n", "9", "--truncation", "1e9", "--out", "")) {
		t.Error("--truncation 1e9 differs from no truncation")
	}
	if slices.Equal(plain, trunc) {
		t.Error("--truncation 0.5 changed nothing")
	}
	b, err := os.ReadFile(filepath.Join(dir, imageio.FileName(0)))
	if err != nil {
		t.Fatal(err)
	}
	if text, err := imageio.PNGText(b); err != nil || text["tgan.truncation"] != "0.5" {
		t.Errorf("PNG text %v (%v), want tgan.truncation 0.5", text, err)
	}
	if _, err := imageio.LoadImage(filepath.Join(dir, imageio.FileName(0))); err != nil {
		t.Errorf("the PNG with text does not decode: %v", err)
	}

	js := filepath.Join(tmp, "e.json")
	eval := func(args ...string) evalResult {
		t.Helper()
		base := []string{"eval", "--inception", evalFile("tiny_inception.onnx"), "--batch", "4", "--metrics", "is", "--is-splits", "3", "--json", js}
		if out, err := runApp(t, append(append(base, args...), gen)...); err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, out)
		}
		var r evalResult
		b, _ := os.ReadFile(js)
		json.Unmarshal(b, &r)
		return r
	}
	a, c := eval("--seed", "4", "--n", "9", "--truncation", "0.5"), eval("--z", z)
	if a.ISMean == nil || c.ISMean == nil || *a.ISMean != *c.ISMean || a.Truncation != 0.5 || c.Truncation != 0 {
		t.Errorf("eval --seed --truncation %+v; --z %+v", a, c)
	}

	st := filepath.Join(tmp, "s.npz")
	if out, err := runApp(t, "stats", "--inception", evalFile("tiny_inception.onnx"), "--n", "9", "--seed", "4",
		"--truncation", "0.5", "--out", st, gen); err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	if s, err := metrics.ReadStats(st); err != nil || s.Truncation != 0.5 {
		t.Errorf("stats truncation %v (%v)", s, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"infer", "--z", z, "--truncation", "0.5", gen}, "--z"},
		{[]string{"infer", "--truncation", "0.001", gen}, "--truncation"},
		{[]string{"infer", "--truncation", "-1", gen}, "--truncation"},
		{[]string{"stats", "--inception", evalFile("tiny_inception.onnx"), "--dataset", "cifar10", "--data", evalFile("data.bin"),
			"--truncation", "0.5", "--out", st}, "--dataset"},
	} {
		out, err := runApp(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line with %q\n%s", c.args, err, c.want, out)
		}
	}
}
