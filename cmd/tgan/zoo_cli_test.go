package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/internal/fileio/npy"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
	"github.com/tgan-dev/tgan/runtime"
	"google.golang.org/protobuf/proto"
)

// zooCases are the small goldens of the new families (testdata/ref,
// make_golden_hires.py): the official structure at small widths, 64x64 for
// the two 256 families. noisyD says the D has attention noise (the final
// scale2 D: random in the official code, so its logits are not compared).
var zooCases = []struct {
	name   string
	size   int
	gNoise bool // the generator has attention noise (a "noise" input in ONNX)
	noisyD bool
}{
	{"final_stl_small", 12, false, true},
	{"final_norp_small", 8, true, false},
	{"celeba256_small", 64, true, false},
	{"church256_small", 64, true, false},
}

func zooGolden(name string) string { return filepath.Join("..", "..", "testdata", "golden", name) }

// zooImport is `tgan import` of a golden's official.pth into dir.
func zooImport(t *testing.T, name, dir string) string {
	t.Helper()
	ckpt := filepath.Join(dir, name+".safetensors")
	mustRun(t, "import", "--out", ckpt, filepath.Join(zooGolden(name), "official.pth"))
	return ckpt
}

// inferRaw is `tgan infer MODEL --raw` with args, returning the raw images.
func inferRaw(t *testing.T, model string, args ...string) []float32 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "g.npy")
	mustRun(t, append(append([]string{"infer", "--raw", out, "--out", ""}, args...), model)...)
	v, _, err := npy.ReadFloat32(out)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestZooCLIChain runs what a user runs on each new family: tgan import of
// the official checkpoint, infer on the checkpoint (Gorgonia) and on its
// export (ONNX Runtime), score on both. The two backends draw the same
// attention noise for a seed (runtime.DrawNoise from --noise-seed and each
// latent, fed as explicit inputs on both), so their images agree; the
// noise-free networks (final_stl's G, the D's without noise) equal the
// PyTorch goldens.
func TestZooCLIChain(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, c := range zooCases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			ckpt := zooImport(t, c.name, tmp)
			mustRun(t, "export", "--onnx", tmp, ckpt)
			gen, dis := filepath.Join(tmp, "generator.onnx"), filepath.Join(tmp, "discriminator.onnx")

			native := inferRaw(t, ckpt, "--n", "4", "--seed", "3", "--batch", "3")
			ort := inferRaw(t, gen, "--n", "4", "--seed", "3", "--batch", "4")
			if len(native) != 4*3*c.size*c.size {
				t.Fatalf("%d values, want 4x3x%dx%d", len(native), c.size, c.size)
			}
			if e := maxRelErr(ort, native); !(e < 1e-4) {
				t.Errorf("seed 3: Gorgonia and ONNX Runtime images differ: max rel err %.3g", e)
			}
			if c.gNoise {
				other := inferRaw(t, ckpt, "--n", "4", "--seed", "3", "--noise-seed", "9")
				otherORT := inferRaw(t, gen, "--n", "4", "--seed", "3", "--noise-seed", "9")
				if e := maxRelErr(other, native); e < 1e-3 {
					t.Errorf("--noise-seed 9 changes nothing (rel %.3g): is the noise fed?", e)
				}
				if e := maxRelErr(otherORT, other); !(e < 1e-4) {
					t.Errorf("--noise-seed 9: backends differ: max rel err %.3g", e)
				}
			} else {
				checkGenerator(t, zooGolden(c.name), ckpt)
				checkGenerator(t, zooGolden(c.name), gen)
			}
			if c.noisyD {
				images := filepath.Join(zooGolden(c.name), "images.npy")
				for _, m := range []string{ckpt, dis} {
					out := filepath.Join(t.TempDir(), "d.npy")
					mustRun(t, "score", "--images", images, "--raw", out, m)
					if d, shape, err := npy.ReadFloat32(out); err != nil || !slices.Equal(shape, []int{len(d), 1}) || len(d) == 0 {
						t.Errorf("score %s: %v %v", m, shape, err)
					}
				}
			} else {
				checkDiscriminator(t, zooGolden(c.name), ckpt)
				checkDiscriminator(t, zooGolden(c.name), dis)
			}
		})
	}
}

// TestZooExportForms: --fused cpu and --fused cuda (on the CPU provider)
// equal the standard export, --fp16 works for a LayerNorm family and refuses the
// PixelNorm ones in one line, --int8 writes and reports its distance to
// float32, on every new family.
func TestZooExportForms(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, c := range zooCases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			ckpt := zooImport(t, c.name, tmp)
			std := filepath.Join(tmp, "std")
			mustRun(t, "export", "--onnx", std, ckpt)
			want := inferRaw(t, filepath.Join(std, "generator.onnx"), "--n", "2", "--seed", "5")

			fusedDir := filepath.Join(tmp, "fused")
			mustRun(t, "export", "--onnx", fusedDir, "--fused", "cpu", ckpt)
			if e := maxRelErr(inferRaw(t, filepath.Join(fusedDir, "generator.onnx"), "--n", "2", "--seed", "5"), want); !(e < 1e-4) {
				t.Errorf("--fused cpu: max rel err %.3g against the standard export", e)
			}
			mustRun(t, "export", "--onnx", filepath.Join(tmp, "cuda"), "--fused", "cuda", ckpt)
			// The CUDA form's operators have CPU kernels too (no GPU here).
			if e := maxRelErr(inferRaw(t, filepath.Join(tmp, "cuda", "generator.onnx"), "--n", "2", "--seed", "5"), want); !(e < 1e-4) {
				t.Errorf("--fused cuda on the CPU provider: max rel err %.3g against the standard export", e)
			}

			out, err := runApp(t, "export", "--onnx", filepath.Join(tmp, "fp16"), "--fp16", ckpt)
			if c.name == "final_norp_small" { // LayerNorm G and D
				if err != nil {
					t.Fatalf("--fp16: %v\n%s", err, out)
				}
				if e := maxRelErr(inferRaw(t, filepath.Join(tmp, "fp16", "generator.onnx"), "--n", "2", "--seed", "5"), want); !(e < 2e-2) {
					t.Errorf("--fp16: max rel err %.3g against float32", e)
				}
			} else if err == nil || strings.Contains(oneLine(err), "\n") || !strings.Contains(err.Error(), "PixelNorm") {
				t.Errorf("--fp16 of a PixelNorm model: %v, want a one-line refusal naming PixelNorm", err)
			}

			out, err = runApp(t, "export", "--onnx", filepath.Join(tmp, "int8"), "--int8", ckpt)
			if err != nil || !strings.Contains(out, "int8 check (8 samples") {
				t.Fatalf("--int8: %v\n%s", err, out)
			}
			if e := maxRelErr(inferRaw(t, filepath.Join(tmp, "int8", "generator.onnx"), "--n", "2", "--seed", "5"), want); !(e < 0.1) {
				t.Errorf("--int8: max rel err %.3g against float32", e)
			}
		})
	}
}

// zooBinary builds the tgan binary for the tests that read its stderr
// (progress bars, one-line errors) or run it as a server.
func zooBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	return buildTgan(t)
}

// runBin runs the binary and returns stdout, stderr and its error.
func runBin(t *testing.T, bin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "ONNXRUNTIME_SHARED_LIBRARY_PATH="+ortLibrary())
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func ortLibrary() string {
	p, _ := filepath.Abs(filepath.Join("..", "..", ".ort", "lib", "libonnxruntime.so.1"))
	return p
}

// rates are the img/s figures of a progress bar's output.
func rates(s string) []float64 {
	var out []float64
	for _, m := range regexp.MustCompile(`([0-9.]+) img/s`).FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, v)
	}
	return out
}

// TestZooProgress: infer --n 16 of a 256-structure model shows a bar
// with sensible rates (never the first batch over microseconds); export
// says what it builds; bench says what it does before the first number.
func TestZooProgress(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	bin := zooBinary(t)
	tmp := t.TempDir()
	ckpt := zooImport(t, "church256_small", tmp)

	_, stderr, err := runBin(t, bin, "infer", ckpt, "--n", "16", "--batch", "4", "--out", filepath.Join(tmp, "g.png"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rs := rates(stderr)
	if !strings.Contains(stderr, "generating") || len(rs) < 3 {
		t.Fatalf("no progress bar:\n%s", stderr)
	}
	for _, r := range rs {
		if r > 2000 { // 64x64 church G on a CPU: tens of images/s
			t.Errorf("bar rate %g img/s: not a measured rate\n%s", r, stderr)
		}
	}

	_, stderr, err = runBin(t, bin, "export", "--onnx", filepath.Join(tmp, "x"), ckpt)
	if err != nil || !strings.Contains(stderr, "exporting the 64x64 generator (0.7M parameters) and discriminator (0.5M) to") ||
		!strings.Contains(stderr, "exported in ") {
		t.Errorf("export progress: %v\n%s", err, stderr)
	}

	stdout, stderr, err := runBin(t, bin, "bench", "--batches", "2", "--iters", "2", filepath.Join(tmp, "x", "generator.onnx"))
	if err != nil || !strings.Contains(stderr, "batch 2: warm-up run") || !strings.Contains(stderr, "batch 2: timing") ||
		!strings.Contains(stdout, "img/s") {
		t.Errorf("bench progress: %v\nstdout %s\nstderr %s", err, stdout, stderr)
	}
	stdout, stderr, _ = runBin(t, bin, "bench", "--help")
	if !strings.Contains(stdout+stderr, "seconds per image") {
		t.Errorf("bench --help does not warn about full-size speed:\n%s%s", stdout, stderr)
	}
}

// TestZooBenchPresets runs tgan bench on the new presets at full size
// with random weights. A full-size model takes minutes on 2 cores (export,
// session creation, a forward of seconds per image), so by default only
// final-cifar-norp on Gorgonia runs (about 20 s), and not with -short;
// TGAN_ZOO_FULL=1 runs every new preset on both backends.
func TestZooBenchPresets(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	bin := zooBinary(t)
	type run struct{ preset, backend string }
	runs := []run{{"final-cifar-norp", "gorgonia"}}
	if os.Getenv("TGAN_ZOO_FULL") == "1" {
		runs = nil
		for _, p := range []string{"final-stl", "final-cifar-norp", "celeba-hq-256", "church-256"} {
			runs = append(runs, run{p, "onnx"}, run{p, "gorgonia"})
		}
	}
	for _, r := range runs {
		t.Run(r.preset+"/"+r.backend, func(t *testing.T) {
			stdout, stderr, err := runBin(t, bin, "bench", "--preset", r.preset, "--backend", r.backend, "--batches", "1", "--iters", "1")
			if err != nil || !strings.Contains(stdout, "preset "+r.preset) || !strings.Contains(stderr, "random G weights") ||
				!strings.Contains(stderr, "warm-up run") {
				t.Errorf("%v\nstdout %s\nstderr %s", err, stdout, stderr)
			}
			t.Log(strings.TrimSpace(stdout))
		})
	}
}

// TestZooServe serves a celeba-like small model from its checkpoint and
// its export: /v1/models names the family, the page loads, and a sample
// is the same image from both backends and from tgan infer.
func TestZooServe(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	bin := zooBinary(t)
	tmp := t.TempDir()
	ckpt := zooImport(t, "celeba256_small", tmp)
	mustRun(t, "export", "--onnx", tmp, ckpt)
	t.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", ortLibrary())
	url := startServe(t, bin, ckpt, filepath.Join(tmp, "generator.onnx"))

	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	if page := get("/"); !bytes.Contains(page, []byte("<html")) {
		t.Errorf("page: %.200s", page)
	}
	var list struct {
		Models []struct {
			Name         string `json:"name"`
			Architecture string `json:"architecture"`
			ImageSize    int    `json:"image_size"`
			Backend      string `json:"backend"`
		} `json:"models"`
	}
	if err := json.Unmarshal(get("/v1/models"), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 2 {
		t.Fatalf("models %+v", list.Models)
	}
	for _, m := range list.Models {
		if m.ImageSize != 64 || !strings.Contains(m.Architecture, "celeba256 generator, PixelNorm, windows [2 4 8 4 4 4]") {
			t.Errorf("model %+v", m)
		}
	}
	a, err := png.Decode(bytes.NewReader(get("/v1/models/" + list.Models[0].Name + "/samples/7.png")))
	if err != nil {
		t.Fatal(err)
	}
	b, err := png.Decode(bytes.NewReader(get("/v1/models/" + list.Models[1].Name + "/samples/7.png")))
	if err != nil {
		t.Fatal(err)
	}
	if a.Bounds().Dx() != 64 || differing(a, b) > 64*64/100 {
		t.Errorf("seed 7: %v image, %d of 4096 pixels differ between Gorgonia and ONNX Runtime", a.Bounds(), differing(a, b))
	}
	if d := differing(a, inferSample(t, bin, ckpt, 7)); d > 64*64/100 {
		t.Errorf("seed 7: serve and tgan infer differ in %d pixels", d)
	}
	get("/v1/models/" + list.Models[1].Name + "/grid.png?n=4&seed=1&truncation=0.7")
}

// TestZooStatsEval: tgan stats of a 64x64 checkpoint and tgan eval of its
// export with the same seed through the small test feature network give
// the same features (FID about 0), with and without --truncation.
func TestZooStatsEval(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	tmp := t.TempDir()
	ckpt := zooImport(t, "celeba256_small", tmp)
	mustRun(t, "export", "--onnx", tmp, ckpt)
	net := []string{"--inception", evalFile("tiny_inception.onnx"), "--batch", "8", "--n", "24", "--seed", "4"}
	for _, trunc := range []string{"0", "0.8"} {
		ref := filepath.Join(tmp, "ref"+trunc+".npz")
		mustRun(t, append(append([]string{"stats", "--out", ref, "--truncation", trunc}, net...), ckpt)...)
		js := filepath.Join(tmp, "eval"+trunc+".json")
		mustRun(t, append(append([]string{"eval", "--ref", ref, "--metrics", "fid,is", "--json", js, "--truncation", trunc}, net...),
			filepath.Join(tmp, "generator.onnx"))...)
		var r evalResult
		b, err := os.ReadFile(js)
		if err != nil || json.Unmarshal(b, &r) != nil || r.FID == nil || r.ISMean == nil {
			t.Fatalf("eval json %s: %v", b, err)
		}
		if *r.FID > 1e-3 || r.N != 24 {
			t.Errorf("truncation %s: FID %g between the checkpoint's and the export's images of one seed (n %d)", trunc, *r.FID, r.N)
		}
	}
}

// TestZooBadInput: one line naming the file and what is wrong for a
// checkpoint of a new family with one tensor of the wrong shape (import
// and infer), an exported generator whose noise input has the wrong
// width, and a bad --truncation.
func TestZooBadInput(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	bin := zooBinary(t)
	tmp := t.TempDir()
	ckpt := zooImport(t, "celeba256_small", tmp)
	tensor := "blocks_3.block.0.mlp.fc2.weight"

	badPTH := filepath.Join(tmp, "bad.pth")
	badCkpt := filepath.Join(tmp, "bad.safetensors")
	writeBadShape(t, ckpt, "avg_gen."+tensor, badCkpt)
	mustRun(t, "export", "--onnx", tmp, ckpt)
	gen := filepath.Join(tmp, "generator.onnx")
	badGen := filepath.Join(tmp, "badnoise.onnx")
	writeBadNoise(t, gen, badGen)
	writeBadPTH(t, filepath.Join(zooGolden("celeba256_small"), "official.pth"), tensor, badPTH)

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"import wrong shape", []string{"import", "--out", filepath.Join(tmp, "x.safetensors"), badPTH},
			[]string{badPTH, `tensor "` + tensor + `" has shape`}},
		{"infer wrong shape", []string{"infer", "--n", "1", badCkpt}, []string{badCkpt, tensor, "has shape"}},
		{"infer noise width", []string{"infer", "--n", "1", "--out", "", badGen},
			[]string{badGen, `input "noise" has 5457 draws per image, the generator of its tgan.config takes 5456`}},
		{"truncation", []string{"infer", "--n", "1", "--truncation", "-1", ckpt}, []string{"--truncation"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := runBin(t, bin, c.args...)
			msg := strings.TrimSpace(stderr)
			if i := strings.LastIndex(msg, "\ntgan: "); i >= 0 {
				msg = msg[i+1:] // the backend line comes before the error
			}
			if err == nil || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tgan: ") || strings.Contains(stderr, "goroutine") {
				t.Fatalf("want one error line; err %v, stderr:\n%s", err, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}

	// Truncation works on these models: the same seed and T give the same
	// images from the checkpoint and its export, within [-T, T] latents.
	a := inferRaw(t, ckpt, "--n", "3", "--seed", "2", "--truncation", "0.5")
	b := inferRaw(t, gen, "--n", "3", "--seed", "2", "--truncation", "0.5")
	if e := maxRelErr(b, a); !(e < 1e-4) {
		t.Errorf("--truncation 0.5: backends differ by %.3g", e)
	}
	if e := maxRelErr(inferRaw(t, ckpt, "--n", "3", "--seed", "2"), a); e < 1e-3 {
		t.Errorf("--truncation 0.5 changes nothing (%.3g)", e)
	}
}

// writeBadShape copies checkpoint src to dst with tensor key's last
// dimension one larger (the safetensors layer, below checkpoint.Save's
// checks).
func writeBadShape(t *testing.T, src, key, dst string) {
	t.Helper()
	tensors, meta, err := checkpoint.ReadTensors(src)
	if err != nil {
		t.Fatal(err)
	}
	x := tensors[key]
	if x == nil {
		t.Fatalf("%s has no %s", src, key)
	}
	x.Shape[len(x.Shape)-1]++
	x.F32 = make([]float32, x.Len())
	if err := checkpoint.WriteTensors(dst, tensors, meta); err != nil {
		t.Fatal(err)
	}
}

// writeBadPTH rewrites official checkpoint src as dst (pth.Export, which
// writes what it is given) with tensor's last dimension one larger in the
// generators.
func writeBadPTH(t *testing.T, src, tensor, dst string) {
	t.Helper()
	ck, _, err := pth.Import(src, pth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []model.Weights{ck.Gen, ck.AvgGen} {
		x := w[tensor]
		w[tensor] = &model.Tensor{Shape: append(slices.Clone(x.Shape[:len(x.Shape)-1]), x.Shape[len(x.Shape)-1]+1)}
		w[tensor].F32 = make([]float32, w[tensor].Len())
	}
	if _, err := pth.Export(dst, ck, pth.ExportOptions{Recipe: testRecipe(t, ck)}); err != nil {
		t.Fatal(err)
	}
}

// writeBadNoise copies generator.onnx src to dst with the width of its
// "noise" input declared one larger than the graph reads.
func writeBadNoise(t *testing.T, src, dst string) {
	t.Helper()
	mp, err := onnx.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, in := range mp.GetGraph().GetInput() {
		if in.GetName() == "noise" {
			d := in.GetType().GetTensorType().GetShape().GetDim()[1]
			d.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d.GetDimValue() + 1}
			found = true
		}
	}
	if !found {
		t.Fatalf("%s has no noise input", src)
	}
	b, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestZooFamiliesTable keeps README's "Model families" table true: each
// row's resolution and G and D parameter counts are those of its preset.
func TestZooFamiliesTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|.*\\| ([0-9]+)x[0-9]+ \\| ([0-9,]+) \\| ([0-9,]+) \\|$")
	rows := row.FindAllStringSubmatch(string(b), -1)
	if len(rows) != 4 {
		t.Fatalf("README: %d preset rows in the Model families table, want 4", len(rows))
	}
	num := func(s string) int { v, _ := strconv.Atoi(strings.ReplaceAll(s, ",", "")); return v }
	for _, r := range rows {
		cfg, err := model.Preset(r[1])
		if err != nil {
			t.Fatal(err)
		}
		if g, d := floatParams(cfg.GParams()), floatParams(cfg.DParams()); num(r[2]) != cfg.ImageSize || num(r[3]) != g || num(r[4]) != d {
			t.Errorf("README row %s: %s, %s, %s; the preset has %d, %d, %d", r[1], r[2], r[3], r[4], cfg.ImageSize, g, d)
		}
	}
}
