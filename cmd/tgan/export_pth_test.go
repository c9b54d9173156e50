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

// TestHiresImportExportCommands: the golden checkpoints of the zoo's
// families import with their family shown, export --pth under their
// official model names and flags (with the notes on hard-coded sizes) and
// import back to the same weights and moments.
func TestHiresImportExportCommands(t *testing.T) {
	cases := []struct {
		name      string
		importOut []string
		exportOut []string
	}{
		{"final_stl_small", []string{"rel-pos true, PixelNorm", "scale2, width 32, depth 1, patch 2, heads 4, rel-pos true, PixelNorm"},
			[]string{"--gen_model ViT_custom_rp --dis_model ViT_custom_scale2_rp_noise", "--g_norm pn --d_norm pn"}},
		{"final_norp_small", []string{"rel-pos false, arch custom", "rel-pos true, no attention noise"},
			[]string{"--gen_model ViT_custom --dis_model ViT_custom_scale2 "}},
		{"celeba256_small", []string{"depths [0 1 1 1 1 1], heads 2", "arch celeba256, PixelNorm, windows [2 4 8 4 4 4]",
			"D: celeba256, width 32, depth 3, patch 2, heads 4, rel-pos false, window 4, Hz_fbank"},
			[]string{"--gen_model Celeba256_gen --dis_model Celeba256_dis", "--g_window_size 4 --d_window_size 4",
				"note: Celeba256_gen hard-codes bottom width 8"}},
		{"church256_small", []string{"arch church256, PixelNorm, windows [2 4 8 4 4 4]", "D: scale3, width 64, depth 3, patch 4, heads 4, rel-pos true, window 4"},
			[]string{"--gen_model ViT_custom_local544444_256_rp_noise --dis_model ViT_scale3_local_new_rp",
				"note: ViT_scale3_local_new_rp hard-codes the windows 64, 32, 16"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			first, second := filepath.Join(tmp, "a.safetensors"), filepath.Join(tmp, "b.safetensors")
			pthOut := filepath.Join(tmp, "run.pth")
			out, err := runImportApp(t, "--out", first, "../../testdata/golden/"+c.name+"/official.pth")
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range append(c.importOut, "Adam state: gen step 1, dis step 1") {
				if !strings.Contains(out, want) {
					t.Errorf("import output lacks %q:\n%s", want, out)
				}
			}
			if out, err = runExportApp(t, "--pth", pthOut, first); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, want := range append(c.exportOut, "module prefix true") {
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
			if a.Config.JSON() != b.Config.JSON() || !reflect.DeepEqual(a.Gen, b.Gen) || !reflect.DeepEqual(a.AvgGen, b.AvgGen) ||
				!reflect.DeepEqual(a.Dis, b.Dis) || !reflect.DeepEqual(a.Extra, b.Extra) {
				t.Error("config, weights or extra tensors changed in the round trip")
			}
		})
	}
}
