package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceFlag: --device reaches the commands that choose a provider
// (infer, score, serve, bench, eval, train) and a negative id is refused
// with an error naming the flag, before any model or run folder exists.
func TestDeviceFlag(t *testing.T) {
	model := filepath.Join("..", "..", "testdata", "onnx", "tiny_gen.onnx")
	for _, args := range [][]string{
		{"infer", "--device", "-1", "--provider", "cuda", model},
		{"bench", "--device", "-1", model},
		{"serve", "--device", "-1", "--addr", "127.0.0.1:0", model},
	} {
		out, err := runApp(t, args...)
		if err == nil || !strings.Contains(err.Error(), "--device -1") {
			t.Errorf("%v: %v, want an error naming --device -1\n%s", args, err, out)
		}
	}
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--executor", "ort", "--device", "-2"}, "--device -2"},
		{[]string{"--executor", "gorgonia", "--device", "1"}, "needs --executor ort"},
	} {
		out := filepath.Join(dir, "run")
		args := append([]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir, "--out", out, "--steps", "1"}, c.args...)
		if err := runTrainApp(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train %v: %v, want an error naming %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("train %v left a run folder", c.args)
		}
	}
}
