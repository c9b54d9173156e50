package main

import (
	"bytes"
	"image"
	imagepng "image/png"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/model"
	"go.yaml.in/yaml/v3"
)

// TestBadInputFromOutside runs the real binary on bad inputs and checks the
// contract: non-zero exit, one line on stderr naming the file or problem,
// never a panic or a Go stack trace.
func TestBadInputFromOutside(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "tgan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	random := filepath.Join(tmp, "random.bin")
	noise := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(noise)
	os.WriteFile(random, noise, 0o644)
	pth, _ := os.ReadFile("../../testdata/golden/v1_small/official.pth")
	truncated := filepath.Join(tmp, "truncated.pth")
	os.WriteFile(truncated, pth[:len(pth)/2], 0o644)
	ckpt := filepath.Join(tmp, "final.safetensors")
	if out, err := exec.Command(bin, "import", "--out", ckpt, "../../testdata/golden/final_small/official.pth").CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	wrongZ := filepath.Join(tmp, "z.npy") // v1_small latents (32) for a model of latent 32, wrong count below
	d := badDataInputs(t, tmp, noise)
	out := func(name string) string { return filepath.Join(tmp, "runs", name) }
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"random checkpoint", []string{"infer", random}, "random.bin"},
		{"random onnx", []string{"infer", "--provider", "cpu", random + ".onnx"}, "random.bin.onnx"},
		{"random pth", []string{"import", "--out", filepath.Join(tmp, "x.safetensors"), random}, "random.bin"},
		{"truncated pth", []string{"import", "--out", filepath.Join(tmp, "y.safetensors"), truncated}, "truncated.pth"},
		{"missing file", []string{"infer", filepath.Join(tmp, "nope.safetensors")}, "nope.safetensors"},
		{"wrong latents", []string{"infer", "--z", "../../testdata/golden/v1_stl_small/z.npy", ckpt}, "z.npy"},
		{"missing npy", []string{"infer", "--z", wrongZ, ckpt}, "z.npy"},
		{"images of another size", []string{"score", "--images", "../../testdata/golden/final_mid/images.npy", ckpt}, "images.npy"},
		{"unknown preset", []string{"bench", "--preset", "huge"}, "unknown preset"},
		{"cuda without a GPU", []string{"bench", "--preset", "tiny", "--provider", "cuda", "--batches", "1"}, "cuda"},
		{"bench fp16 and int8", []string{"bench", "--preset", "tiny", "--fp16", "--int8"}, "--fp16 and --int8: choose one"},
		{"bench int8 of a model", []string{"bench", "--int8", ckpt}, "--int8 applies to --preset only"},
		{"eval without a network", []string{"eval"}, "inception"},
		{"serve without a model", []string{"serve"}, "MODEL"},
		{"random npy as latents", []string{"infer", "--z", d.npy, ckpt}, "random.npy"},
		{"random npz as latents", []string{"infer", "--z", d.npz, ckpt}, "random.npz"},
		{"random npy as images", []string{"score", "--images", d.npy, ckpt}, "random.npy"},
		{"negative n", []string{"infer", "-n", "-3", ckpt}, "--n -3"},
		{"zero batch", []string{"infer", "--batch", "0", ckpt}, "--batch 0"},
		{"missing onnx runtime", []string{"infer", "--ort-lib", "/nonexistent/libonnxruntime.so", "../../testdata/onnx/tiny_gen.onnx"}, "/nonexistent/libonnxruntime.so"},
		{"train: truncated cifar batch", append(trainArgs(out("a")), "--dataset", "cifar10", "--data", d.truncCIFAR), "data_batch_1.bin: truncated"},
		{"train: not a cifar batch", append(trainArgs(out("b")), "--dataset", "cifar10", "--data", d.labelCIFAR), "label"},
		{"train: missing data folder", append(trainArgs(out("c")), "--dataset", "cifar10", "--data", filepath.Join(tmp, "no-such-dir")), "no-such-dir"},
		{"train: random idx", append(trainArgs(out("d")), "--dataset", "fashion-mnist", "--data", random), "random.bin"},
		{"train: corrupt image in folder", append(trainArgs(out("e")), "--dataset", "folder", "--data", d.folder), "broken.png"},
		{"train: unknown dataset", append(trainArgs(out("f")), "--dataset", "imagenet"), "imagenet"},
		{"train: unknown preset", []string{"train", "--preset", "huge", "--dataset", "cifar10", "--data", d.truncCIFAR, "--out", out("g"), "--steps", "1"}, "unknown preset"},
		{"train: bad yaml", []string{"train", "--config", d.badYAML, "--dataset", "cifar10", "--data", d.truncCIFAR, "--out", out("h"), "--steps", "1"}, "bad.yaml"},
		{"train: missing yaml", []string{"train", "--config", filepath.Join(tmp, "none.yaml"), "--dataset", "cifar10", "--data", d.truncCIFAR, "--out", out("i"), "--steps", "1"}, "none.yaml"},
		{"train: negative batch", append(trainArgs(out("j")), "--dataset", "cifar10", "--data", d.truncCIFAR, "--batch", "-3"), "batch"},
		{"train: negative steps", []string{"train", "--preset", "tiny", "--dataset", "cifar10", "--data", d.truncCIFAR, "--out", out("k"), "--steps", "-1"}, "--steps -1"},
		{"train: invalid yaml values", []string{"train", "--config", d.invalidYAML, "--dataset", "cifar10", "--data", d.truncCIFAR, "--out", out("l"), "--steps", "1"}, "latent_dim -4"},
		{"train: resume of a missing run", []string{"train", "--resume", filepath.Join(tmp, "no-run"), "--steps", "3"}, "no-run"},
	}
	os.WriteFile(random+".onnx", noise, 0o644)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, c.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := stderr.String()
			if err == nil {
				t.Fatalf("exit 0, want an error; stderr:\n%s", msg)
			}
			last := strings.TrimSpace(msg[strings.LastIndex(strings.TrimRight(msg, "\n"), "\n")+1:])
			if !strings.HasPrefix(last, "tgan: ") || !strings.Contains(last, c.want) {
				t.Errorf("last stderr line %q: want \"tgan: ...%s...\"", last, c.want)
			}
			if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
				t.Errorf("stack trace in stderr:\n%s", msg)
			}
		})
	}
}

// badData holds the bad dataset and config files of the catalogue.
type badData struct {
	npy, npz    string // random bytes
	truncCIFAR  string // a folder whose data_batch_1.bin ends inside record 2
	labelCIFAR  string // a batch file whose first label is 200
	folder      string // an image folder holding a PNG cut in half
	badYAML     string // YAML that does not parse
	invalidYAML string // YAML that parses into an invalid config
}

func badDataInputs(t *testing.T, tmp string, noise []byte) badData {
	t.Helper()
	d := badData{
		npy:         filepath.Join(tmp, "random.npy"),
		npz:         filepath.Join(tmp, "random.npz"),
		truncCIFAR:  filepath.Join(tmp, "cifar-trunc"),
		labelCIFAR:  filepath.Join(tmp, "cifar-label", "data_batch_1.bin"),
		folder:      filepath.Join(tmp, "images"),
		badYAML:     filepath.Join(tmp, "bad.yaml"),
		invalidYAML: filepath.Join(tmp, "invalid.yaml"),
	}
	const record = 1 + 3*32*32
	label := make([]byte, 2*record)
	label[0] = 200
	var png bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	if err := imagepng.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		d.npy: noise, d.npz: noise,
		filepath.Join(d.truncCIFAR, "data_batch_1.bin"): make([]byte, record+record/2),
		d.labelCIFAR:                          label,
		filepath.Join(d.folder, "ok.png"):     png.Bytes(),
		filepath.Join(d.folder, "broken.png"): png.Bytes()[:png.Len()/2],
		d.badYAML:                             []byte("version: v1\ng_depths: [1, 2\n  latent_dim: :\n"),
		d.invalidYAML:                         invalidConfigYAML(t),
	}
	for path, b := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// trainArgs starts a one-step tiny run in out; the caller adds the dataset.
func trainArgs(out string) []string {
	return []string{"train", "--preset", "tiny", "--out", out, "--steps", "1", "--batch", "2"}
}

// invalidConfigYAML is the tiny preset with two invalid values: its error
// lists both, and the CLI must still print one line.
func invalidConfigYAML(t *testing.T) []byte {
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.LatentDim, cfg.DPatch = -4, 5
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
