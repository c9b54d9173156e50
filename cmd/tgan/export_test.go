package main

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

func runExportApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := &cli.App{Name: "tgan", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{exportCommand()},
		ExitErrHandler: func(*cli.Context, error) {}}
	err := app.Run(append([]string{"tgan", "export"}, args...))
	return out.String(), err
}

// saveTiny writes a random tiny-preset checkpoint (gen, avg_gen, dis) to path.
func saveTiny(t *testing.T, path string) {
	t.Helper()
	cfg, _ := model.Preset("tiny")
	rng := rand.New(rand.NewSource(1))
	ck := &checkpoint.Checkpoint{
		Config: cfg,
		Gen:    model.InitWeights(cfg.GParams(), rng),
		AvgGen: model.InitWeights(cfg.GParams(), rng),
		Dis:    model.InitWeights(cfg.DParams(), rng),
	}
	if err := checkpoint.Save(path, ck); err != nil {
		t.Fatal(err)
	}
}

func weightsMeta(t *testing.T, dir string) string {
	t.Helper()
	mp, err := onnx.ReadFile(filepath.Join(dir, exporter.GeneratorFile))
	if err != nil {
		t.Fatal(err)
	}
	return onnx.Metadata(mp)[exporter.KeyWeights]
}

func TestExportCommand(t *testing.T) {
	run := t.TempDir()
	saveTiny(t, filepath.Join(run, "ckpt-000002.safetensors"))
	if err := os.WriteFile(filepath.Join(run, "latest"), []byte("ckpt-000002.safetensors\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out1, repo := t.TempDir(), t.TempDir()
	if out, err := runExportApp(t, "--onnx", out1, "--triton", repo, run); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range []string{
		filepath.Join(out1, exporter.GeneratorFile), filepath.Join(out1, exporter.DiscriminatorFile),
		filepath.Join(repo, "tgan_generator", "config.pbtxt"), filepath.Join(repo, "tgan_generator", "1", "model.onnx"),
	} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if w := weightsMeta(t, out1); w != "avg_gen" {
		t.Errorf("default export: tgan.weights = %q, want avg_gen", w)
	}

	// latest as a symlink, and --raw-generator.
	os.Remove(filepath.Join(run, "latest"))
	if err := os.Symlink("ckpt-000002.safetensors", filepath.Join(run, "latest")); err != nil {
		t.Fatal(err)
	}
	out2 := t.TempDir()
	if out, err := runExportApp(t, "--onnx", out2, "--raw-generator", run); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if w := weightsMeta(t, out2); w != "gen" {
		t.Errorf("--raw-generator: tgan.weights = %q, want gen", w)
	}
}

func TestResolveCheckpoint(t *testing.T) {
	run := t.TempDir()
	ckpt := filepath.Join(run, "ckpt-1.safetensors")
	os.WriteFile(ckpt, []byte("x"), 0o644)
	if got, err := resolveCheckpoint(ckpt); err != nil || got != ckpt {
		t.Errorf("file: %q, %v", got, err)
	}
	for _, tc := range []struct{ latest, want string }{
		{"", "without a 'latest'"},
		{"  \n", "is empty"},
		{"ckpt-9.safetensors", "missing checkpoint"},
		{ckpt + "\n", ""}, // absolute path
	} {
		os.Remove(filepath.Join(run, "latest"))
		if tc.latest != "" {
			os.WriteFile(filepath.Join(run, "latest"), []byte(tc.latest), 0o644)
		}
		got, err := resolveCheckpoint(run)
		switch {
		case tc.want == "" && (err != nil || got != ckpt):
			t.Errorf("latest %q: got %q, %v; want %q", tc.latest, got, err, ckpt)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("latest %q: err = %v, want it to say %q", tc.latest, err, tc.want)
		}
	}
}
