package main

import (
	"encoding/json"
	"image"
	"image/color"
	imagepng "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runfolder"
	"github.com/tgan-dev/tgan/trainer"
	"go.yaml.in/yaml/v3"
)

// zooTrainCases pairs each zoo preset with a same-structure model small
// enough for one training iteration on two cores (the configs of
// trainer's zooStepCases; the 256 families at 32x32 with the official
// number of windows per stage).
var zooTrainCases = []struct{ preset, json string }{
	{"final-stl", `{"version":"final","latent_dim":16,"g_dim":32,"bottom_width":2,"g_depths":[1,1,1],"g_heads":2,"mlp_ratio":4,"image_size":8,"g_rel_pos":true,"g_norm":"pn","d_kind":"scale2","d_dim":16,"d_depth":1,"d_patch":2,"d_heads":2,"d_rel_pos":true,"d_norm":"pn"}`},
	{"final-cifar-norp", `{"version":"final","latent_dim":16,"g_dim":32,"bottom_width":2,"g_depths":[1,1,1],"g_heads":2,"mlp_ratio":4,"image_size":8,"g_rel_pos":false,"g_arch":"custom","d_kind":"scale2","d_dim":16,"d_depth":1,"d_patch":2,"d_heads":2,"d_rel_pos":true,"d_no_noise":true}`},
	{"celeba-hq-256", `{"version":"final","latent_dim":16,"g_dim":64,"bottom_width":1,"g_depths":[0,1,1,1,1,1],"g_heads":1,"mlp_ratio":4,"image_size":32,"g_rel_pos":false,"g_arch":"celeba256","g_norm":"pn","g_windows":[1,2,4,2,2,2],"d_kind":"celeba256","d_dim":16,"d_depth":3,"d_patch":2,"d_heads":2,"d_rel_pos":false,"d_window":2,"d_filter_bank":true}`},
	{"church-256", `{"version":"final","latent_dim":16,"g_dim":64,"bottom_width":1,"g_depths":[1,1,1,1,1,0],"g_heads":1,"mlp_ratio":4,"image_size":32,"g_rel_pos":false,"g_arch":"church256","g_norm":"pn","g_windows":[1,2,4,2,2,2],"d_kind":"scale3","d_dim":16,"d_depth":3,"d_patch":2,"d_heads":2,"d_rel_pos":true,"d_window":2}`},
}

// writeZooImages writes n smooth PNG images of side size into a new folder.
func writeZooImages(t *testing.T, dir string, n, size int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, size, size))
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				img.Set(x, y, color.RGBA{uint8(x * 255 / size), uint8(y * 255 / size), uint8(40 * i), 255})
			}
		}
		f, err := os.Create(filepath.Join(dir, "img"+string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := imagepng.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

// TestTrainZooPresets: for each zoo preset, tgan train with its recipe
// (accumulation, leak, drift groups, policy) on a same-structure small
// model (--config: model and the preset's train options) starts on an
// image folder of the model's size and runs one G step, with small
// --batch and --accumulate, on the default executor, printing progress;
// the preset itself on images too small for it is one line before any
// run folder.
func TestTrainZooPresets(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "tgan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, c := range zooTrainCases {
		t.Run(c.preset, func(t *testing.T) {
			cfg, err := model.ParseJSON(c.json)
			if err != nil {
				t.Fatal(err)
			}
			eff := runfolder.EffectiveConfig{Model: cfg, Train: trainer.PresetOptions(c.preset)}
			raw, err := yaml.Marshal(eff)
			if err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(tmp, c.preset+".yaml")
			if err := os.WriteFile(conf, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			data := writeZooImages(t, filepath.Join(tmp, c.preset+"-images"), 4, cfg.ImageSize)
			run := filepath.Join(tmp, c.preset+"-run")
			// --batch 4: final-stl's drift groups are 4 real samples.
			stdout, stderr, err := runBin(t, bin, "train", "--config", conf, "--dataset", "images", "--data", data, "--out", run,
				"--steps", "1", "--batch", "4", "--gen-batch", "2", "--accumulate", "2,2", "--samples", "2", "--no-tensorboard")
			out := stdout + stderr
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			t.Logf("output:\n%s", out)
			if !strings.Contains(out, "step 1/1") || !strings.Contains(out, "recipe: accumulation D 2 x 4, G 2 x 2") {
				t.Errorf("no progress or recipe in the output:\n%s", out)
			}
			rows, err := runfolder.ReadMetrics(filepath.Join(run, runfolder.MetricsFile))
			if err != nil || len(rows) == 0 {
				t.Fatalf("metrics: %d rows, %v", len(rows), err)
			}
			last := rows[len(rows)-1]
			if last.GStep != 1 || !(last.GGradNorm > 0) {
				js, _ := json.Marshal(last)
				t.Errorf("last metrics row %s, want G step 1 with a gradient", js)
			}
			// The preset at full size refuses the small images in one line.
			small := writeZooImages(t, filepath.Join(tmp, c.preset+"-small"), 2, 8)
			bad := filepath.Join(tmp, c.preset+"-bad")
			_, stderr, err = runBin(t, bin, "train", "--preset", c.preset, "--dataset", "images", "--data", small, "--out", bad, "--steps", "1", "--batch", "4")
			msg := strings.TrimSpace(stderr)
			full, _ := model.Preset(c.preset)
			if full.ImageSize <= 16 {
				t.Fatalf("preset %s is %d px", c.preset, full.ImageSize)
			}
			if err == nil || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tgan: images: ") || !strings.Contains(msg, "too small for a") {
				t.Errorf("8x8 images for %s: %v\n%s", c.preset, err, msg)
			}
			if _, serr := os.Stat(bad); serr == nil {
				t.Errorf("a run folder was made for a refused dataset")
			}
		})
	}
}
