package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/checkpoint/pth"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runfolder"
	"github.com/tgan-dev/tgan/trainer"
)

// smallFinal is a final config the official code can express.
func smallFinal() *model.Config {
	c, _ := model.Preset("final-cifar")
	c.LatentDim, c.GDim, c.BottomWidth, c.ImageSize, c.GDepths = 8, 64, 2, 8, []int{1, 1, 1}
	c.DDim, c.DDepth, c.DPatch = 16, 1, 2
	return c
}

// TestImportRun: an official file that carries no tgan trainer state (as
// after training with the official script) becomes the run's newest
// checkpoint; the trainer resumes from it with the file's Adam moments and
// step counts, G steps and iterations, and the data epoch.
func TestImportRun(t *testing.T) {
	cfg := smallFinal()
	tr, err := trainer.New(cfg, trainer.Options{Seed: 2, Samples: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range tr.OptG.M { // moments as after some training
		for j := range m {
			m[j], tr.OptG.V[i][j] = float32(j%7)*0.01, float32(j%5)*0.001
		}
	}
	tr.OptG.Step, tr.OptD.Step, tr.GSteps, tr.Iter = 2, 8, 2, 8
	run := t.TempDir()
	ck := tr.Checkpoint()
	ck.Meta["run"] = `{"dataset":"cifar10","data":"x.bin","checkpoint_every":500,"keep":3}`
	if err := checkpoint.Save(filepath.Join(run, "ckpt-2.safetensors"), ck); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(run, runfolder.LatestFile), []byte("ckpt-2.safetensors\n"), 0o644)

	// The "official" continuation: counters advanced, no tgan trainer state.
	official := *ck
	official.Meta = map[string]string{"official_adam_g_step": "9", "official_adam_d_step": "40", "official_epoch": "3"}
	file := filepath.Join(t.TempDir(), "official.pth")
	if _, err := pth.Export(file, &official, pth.ExportOptions{ModulePrefix: true, Recipe: testRecipe(t, &official)}); err != nil {
		t.Fatal(err)
	}
	out, err := runImportApp(t, "--run", run, file)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "run continues at G step 9, iteration 40, data epoch 3") {
		t.Errorf("output:\n%s", out)
	}
	latest, _ := os.ReadFile(filepath.Join(run, runfolder.LatestFile))
	if string(latest) != "ckpt-9.safetensors\n" {
		t.Fatalf("latest is %q", latest)
	}
	back, err := checkpoint.Load(filepath.Join(run, "ckpt-9.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := trainer.Resume(back, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.OptG.Step != 9 || resumed.OptD.Step != 40 || resumed.GSteps != 9 || resumed.Iter != 40 {
		t.Errorf("resumed at G step %d/%d, D step %d, iteration %d", resumed.GSteps, resumed.OptG.Step, resumed.OptD.Step, resumed.Iter)
	}
	if !reflect.DeepEqual(resumed.OptG.M, tr.OptG.M) || !reflect.DeepEqual(resumed.OptG.V, tr.OptG.V) {
		t.Error("the G Adam moments changed on the way")
	}
	var st trainer.State
	json.Unmarshal([]byte(back.Meta[trainer.MetaState]), &st)
	if st.Loader.Epoch != 3 || st.Loader.Pos != 0 {
		t.Errorf("loader state %+v", st.Loader)
	}

	// The same file again adds no G steps; another model does not fit the run.
	if _, err := runImportApp(t, "--run", run, file); err == nil || !strings.Contains(err.Error(), "already has ckpt-9.safetensors") {
		t.Errorf("second import: %v", err)
	}
	other := smallFinal()
	other.GDepths = []int{2, 1, 1}
	tr2, err := trainer.New(other, trainer.Options{Seed: 2, Samples: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	file2 := filepath.Join(t.TempDir(), "other.pth")
	ck2 := tr2.Checkpoint()
	if _, err := pth.Export(file2, ck2, pth.ExportOptions{Recipe: testRecipe(t, ck2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := runImportApp(t, "--run", run, file2); err == nil || !strings.Contains(err.Error(), "the run's model") || strings.Contains(err.Error(), "\n") {
		t.Errorf("other model: %v", err)
	}
	if _, err := runImportApp(t, file2); err == nil || !strings.Contains(err.Error(), "--out CKPT or --run DIR") {
		t.Errorf("no destination: %v", err)
	}
}

// testRecipe is ck's training recipe for pth.Export, as 'tgan export --pth'
// fills it.
func testRecipe(t *testing.T, ck *checkpoint.Checkpoint) pth.Recipe {
	t.Helper()
	r, err := pthRecipe(ck)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
