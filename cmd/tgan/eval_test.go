package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/tgan-dev/tgan/internal/eval/metrics"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/infer/engine"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
)

// evalDir holds the tiny feature network, generator, data and goldens made
// by testdata/eval/make_eval.py (torch features, numpy/scipy metrics).
var evalDir = filepath.Join("..", "..", "testdata", "eval")

func evalFile(name string) string { return filepath.Join(evalDir, name) }

// evalExpected is the part of expected.json these tests read.
type evalExpected struct {
	GenMu      []float64 `json:"gen_mu"`
	GenSigma   []float64 `json:"gen_sigma"`
	DataMu     []float64 `json:"data_mu"`
	DataSigma  []float64 `json:"data_sigma"`
	FID        float64   `json:"fid"`
	KIDDefault meanStd   `json:"kid_default"`
	KIDSmall   meanStd   `json:"kid_small"`
	IS10       meanStd   `json:"is_10"`
	IS3        meanStd   `json:"is_3"`
}

type meanStd struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

func loadEvalExpected(t *testing.T) evalExpected {
	t.Helper()
	b, err := os.ReadFile(evalFile("expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e evalExpected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func checkRel(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if e := math.Abs(got-want) / math.Max(math.Abs(want), 1e-12); e > tol || math.IsNaN(got) {
		t.Errorf("%s = %.10g, want %.10g (relative error %.2g > %g)", what, got, want, e, tol)
	}
}

func checkAllClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*scale {
			t.Fatalf("%s[%d] = %.10g, want %.10g (tolerance %g of max %g)", what, i, got[i], want[i], tol, scale)
		}
	}
}

// TestStatsEvalEndToEnd runs tgan stats on a CIFAR-format dataset and tgan
// eval on an ONNX generator with fixed latents, through the tiny feature
// network, and checks statistics, FID, KID and IS against the values that
// make_eval.py computed with torch, numpy and scipy.
func TestStatsEvalEndToEnd(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	want := loadEvalExpected(t)
	tmp := t.TempDir()
	ref := filepath.Join(tmp, "ref.npz")
	net := []string{"--inception", evalFile("tiny_inception.onnx"), "--batch", "16"}
	if out, err := runApp(t, append(append([]string{"stats"}, net...),
		"--dataset", "cifar10", "--data", evalFile("data.bin"), "--out", ref)...); err != nil {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	st, err := metrics.ReadStats(ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.N != 60 || len(st.Features) != 60*8 {
		t.Fatalf("stats: n %d, %d feature values", st.N, len(st.Features))
	}
	checkAllClose(t, "data mu", st.Mu, want.DataMu, 1e-5)
	checkAllClose(t, "data sigma", st.Sigma, want.DataSigma, 1e-5)

	js, genStats := filepath.Join(tmp, "eval.json"), filepath.Join(tmp, "gen.npz")
	out, err := runApp(t, append(append([]string{"eval"}, net...), "--ref", ref, "--z", evalFile("z.npy"),
		"--json", js, "--save-stats", genStats, evalFile("tiny_gen.onnx"))...)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	var res evalResult
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &res); err != nil || res.FID == nil || res.KIDMean == nil || res.ISMean == nil {
		t.Fatalf("eval json: %v\n%s", err, b)
	}
	checkRel(t, "FID", *res.FID, want.FID, 1e-5)
	checkRel(t, "KID mean", *res.KIDMean, want.KIDDefault.Mean, 1e-5)
	checkRel(t, "KID std", *res.KIDStd, want.KIDDefault.Std, 1e-4)
	checkRel(t, "IS mean", *res.ISMean, want.IS10.Mean, 1e-5)
	checkRel(t, "IS std", *res.ISStd, want.IS10.Std, 1e-4)
	if res.N != 50 || res.KIDSubsetSize != 50 || res.ISSplits != 10 {
		t.Errorf("eval json: n %d, kid subset size %d, is splits %d", res.N, res.KIDSubsetSize, res.ISSplits)
	}
	// The printed lines carry the same numbers.
	m := regexp.MustCompile(`fid: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no fid line in:\n%s", out)
	}
	if v, _ := strconv.ParseFloat(m[1], 64); math.Abs(v-*res.FID) > 1e-9*math.Abs(v) {
		t.Errorf("printed fid %s, json %g", m[1], *res.FID)
	}
	gen, err := metrics.ReadStats(genStats)
	if err != nil {
		t.Fatal(err)
	}
	checkAllClose(t, "generated mu", gen.Mu, want.GenMu, 1e-5)
	checkAllClose(t, "generated sigma", gen.Sigma, want.GenSigma, 1e-5)

	// Other KID / IS settings.
	out, err = runApp(t, append(append([]string{"eval"}, net...), "--ref", ref, "--z", evalFile("z.npy"),
		"--metrics", "kid,is", "--kid-subsets", "7", "--kid-subset-size", "20", "--kid-seed", "3",
		"--is-splits", "3", "--json", js, evalFile("tiny_gen.onnx"))...)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	res = evalResult{}
	b, _ = os.ReadFile(js)
	if err := json.Unmarshal(b, &res); err != nil || res.FID != nil || res.KIDMean == nil {
		t.Fatalf("eval json: %v\n%s", err, b)
	}
	checkRel(t, "KID mean (7 x 20)", *res.KIDMean, want.KIDSmall.Mean, 1e-5)
	checkRel(t, "KID std (7 x 20)", *res.KIDStd, want.KIDSmall.Std, 1e-4)
	checkRel(t, "IS mean (3 splits)", *res.ISMean, want.IS3.Mean, 1e-5)
	checkRel(t, "IS std (3 splits)", *res.ISStd, want.IS3.Std, 1e-4)
}

// TestEvalSeedMatchesLatents: --seed draws the same latents as
// engine.Latents (tgan infer --seed), streamed batch by batch.
func TestEvalSeedMatchesLatents(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	tmp := t.TempDir()
	z := filepath.Join(tmp, "z.npy")
	if err := npy.WriteFloat32(z, engine.Latents(5, 23, 8), []int{23, 8}); err != nil {
		t.Fatal(err)
	}
	run := func(src ...string) evalResult {
		js := filepath.Join(tmp, "e.json")
		args := append([]string{"eval", "--inception", evalFile("tiny_inception.onnx"), "--batch", "4",
			"--metrics", "is", "--is-splits", "2", "--json", js}, src...)
		if out, err := runApp(t, append(args, evalFile("tiny_gen.onnx"))...); err != nil {
			t.Fatalf("eval: %v\n%s", err, out)
		}
		var r evalResult
		b, _ := os.ReadFile(js)
		json.Unmarshal(b, &r)
		return r
	}
	a, b := run("--z", z), run("--seed", "5", "--n", "23")
	if a.ISMean == nil || b.ISMean == nil || *a.ISMean != *b.ISMean || *a.ISStd != *b.ISStd {
		t.Errorf("--z engine.Latents: %+v; --seed: %+v", a, b)
	}
}

// TestFIDCommand: tgan fid on TTUR-format files (np.savez_compressed) prints
// the golden value of make_fid_golden.py.
func TestFIDCommand(t *testing.T) {
	out, err := runApp(t, "fid", evalFile("ttur_a.npz"), evalFile("ttur_b.npz"))
	if err != nil {
		t.Fatalf("fid: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^fid: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no fid line in %q", out)
	}
	got, _ := strconv.ParseFloat(m[1], 64)
	b, _ := os.ReadFile(evalFile("fid_golden.json"))
	var cases []struct {
		Name string  `json:"name"`
		FID  float64 `json:"fid"`
	}
	json.Unmarshal(b, &cases)
	for _, c := range cases {
		if c.Name == "d64-decay" {
			checkRel(t, "tgan fid", got, c.FID, 1e-9)
			return
		}
	}
	t.Fatal("no d64-decay case in fid_golden.json")
}

// TestEvalErrors: the errors name the problem.
func TestEvalErrors(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	net := []string{"--inception", evalFile("tiny_inception.onnx")}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"kid against TTUR stats", append(append([]string{"eval"}, net...), "--ref", evalFile("ttur_a.npz"), "--metrics", "kid", evalFile("tiny_gen.onnx")), "no features"},
		{"fid without ref", append(append([]string{"eval"}, net...), evalFile("tiny_gen.onnx")), "--ref"},
		{"unknown metric", append(append([]string{"eval"}, net...), "--metrics", "fid,lpips", evalFile("tiny_gen.onnx")), "lpips"},
		{"wrong output name", append(append([]string{"eval"}, net...), "--metrics", "is", "--logits-output", "probs", evalFile("tiny_gen.onnx")), "pool, logits"},
		{"bad range", append(append([]string{"eval"}, net...), "--metrics", "is", "--input-range", "0,2", evalFile("tiny_gen.onnx")), "0,2"},
		{"model and dataset", append(append([]string{"stats", "--out", filepath.Join(t.TempDir(), "s.npz")}, net...), "--dataset", "cifar10", evalFile("tiny_gen.onnx")), "not both"},
		{"fid of one file", []string{"fid", evalFile("ttur_a.npz")}, "two statistics files"},
		{"fid of a non-stats file", []string{"fid", evalFile("z.npy"), evalFile("ttur_a.npz")}, "z.npy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := runApp(t, c.args...)
			if err == nil || !regexp.MustCompile(regexp.QuoteMeta(c.want)).MatchString(err.Error()) {
				t.Errorf("err = %v, want one containing %q\n%s", err, c.want, out)
			}
		})
	}
}
