package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestZooBadTrainInput: a model/dataset size mismatch, an unknown
// augmentation and bad STL-10 or image-folder data are each one line on
// stderr, before any run folder exists.
func TestZooBadTrainInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "tgan")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cifar := filepath.Join(tmp, "cifar")
	os.MkdirAll(cifar, 0o755)
	os.WriteFile(filepath.Join(cifar, "data_batch_1.bin"), make([]byte, 4*3073), 0o644)
	stl := filepath.Join(tmp, "stl10_binary")
	os.MkdirAll(stl, 0o755)
	short := filepath.Join(stl, "train_X.bin")
	os.WriteFile(short, make([]byte, 27648+100), 0o644)
	images := filepath.Join(tmp, "images")
	os.MkdirAll(images, 0o755)
	os.WriteFile(filepath.Join(images, "bad.jpg"), []byte("not a jpeg"), 0o644)
	run := func(name string) string { return filepath.Join(tmp, "runs", name) }
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"256 model on 32x32 images", []string{"train", "--preset", "celeba-hq-256", "--dataset", "cifar10", "--data", cifar, "--out", run("a"), "--steps", "1"},
			"cifar10: " + cifar + ": images are 32x32, too small for a 256x256 model"},
		{"unknown augmentation", []string{"train", "--preset", "tiny", "--dataset", "cifar10", "--data", cifar, "--out", run("b"), "--steps", "1", "--augment", "translation,geo,color"},
			`augment: unknown operation "geo" in policy "translation,geo,color" (known: translation, cutout, color, erase_ratio, stl_erase_ratio, erase, hue, filter)`},
		{"truncated stl10", []string{"train", "--preset", "tiny", "--dataset", "stl10", "--data", stl, "--out", run("d"), "--steps", "1"},
			"stl10: " + short + ": 27748 bytes is not a positive whole number of 3x96x96 images"},
		{"corrupt image", []string{"train", "--preset", "tiny", "--dataset", "images", "--data", images, "--out", run("e"), "--steps", "1"},
			"images: " + filepath.Join(images, "bad.jpg") + ": not a PNG or JPEG image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, c.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := strings.TrimSpace(stderr.String())
			if err == nil {
				t.Fatalf("exit 0, want an error; stderr:\n%s", msg)
			}
			if strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "tgan: ") || !strings.Contains(msg, c.want) {
				t.Errorf("stderr %q: want one line \"tgan: ...%s...\"", msg, c.want)
			}
			if _, err := os.Stat(c.args[slices.Index(c.args, "--out")+1]); !os.IsNotExist(err) {
				t.Errorf("run folder exists after the failure (%v)", err)
			}
		})
	}
}
