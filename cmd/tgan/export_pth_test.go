package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/tgan-dev/tgan/internal/checkpoint"
)

func runImportApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := &cli.App{Name: "tgan", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{importCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	err := app.Run(append([]string{"tgan", "import"}, args...))
	return out.String(), err
}

// TestExportPTHCommand: an official checkpoint imported, exported with
// --pth and imported again keeps its weights, EMA weights and Adam moments;
// the command prints the official flags. Both optimizers of the golden
// file (the official parameters() order) import without a warning.
func TestExportPTHCommand(t *testing.T) {
	tmp := t.TempDir()
	first, second := filepath.Join(tmp, "a.safetensors"), filepath.Join(tmp, "b.safetensors")
	pthOut := filepath.Join(tmp, "run.pth")
	if out, err := runImportApp(t, "--out", first, "../../testdata/golden/final_small/official.pth"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	} else if !strings.Contains(out, "Adam state: gen step 1, dis step 1") || strings.Contains(out, "not imported") {
		t.Errorf("import output lacks the Adam state of G and D, or drops some:\n%s", out)
	}
	out, err := runExportApp(t, "--pth", pthOut, "--path-helper", "/data/logs/final", first)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"official final training checkpoint", "module prefix true", "--gen_model ViT_custom_rp --dis_model ViT_custom_scale2_rp_noise", "--g_depth 2,1,1"} {
		if !strings.Contains(out, want) {
			t.Errorf("export output lacks %q:\n%s", want, out)
		}
	}
	if out, err := runImportApp(t, "--out", second, pthOut); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	a, err := checkpoint.Load(first)
	if err != nil {
		t.Fatal(err)
	}
	b, err := checkpoint.Load(second)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Gen, b.Gen) || !reflect.DeepEqual(a.AvgGen, b.AvgGen) || !reflect.DeepEqual(a.Dis, b.Dis) {
		t.Error("weights changed in the round trip")
	}
	if len(a.Extra) == 0 || !reflect.DeepEqual(a.Extra, b.Extra) {
		t.Errorf("extra tensors (Adam moments, fixed_z) changed: %d before, %d after", len(a.Extra), len(b.Extra))
	}
}

// TestExportPTHBadInput: a config the official code has no model for fails
// in one line naming the checkpoint and the setting, and writes nothing.
func TestExportPTHBadInput(t *testing.T) {
	run := t.TempDir()
	ckpt := filepath.Join(run, "ckpt-2.safetensors")
	saveTiny(t, ckpt)
	out := filepath.Join(t.TempDir(), "tiny.pth")
	_, err := runExportApp(t, "--pth", out, ckpt)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "ckpt-2.safetensors") ||
		!strings.Contains(err.Error(), "generator depths [2 1 1]") {
		t.Errorf("error %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Error("a file was left")
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Errorf("%d temporary files left", len(ents))
	}
	if _, err := runExportApp(t, ckpt); err == nil || !strings.Contains(err.Error(), "--onnx DIR or --pth OUT.pth") {
		t.Errorf("no output: error %v", err)
	}
}
