package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainExecutorErrors: bad --executor/--provider values are one line
// each and are rejected before a run folder is created.
func TestTrainExecutorErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--executor", "tape"}, `--executor "tape": want gorgonia or ort`},
		{[]string{"--provider", "tpu"}, `--provider "tpu": want cpu, cuda or auto`},
		{[]string{"--executor", "gorgonia", "--provider", "cuda"}, "--provider cuda needs --executor ort"},
	} {
		out := filepath.Join(dir, "run")
		args := append([]string{"--preset", "tiny", "--dataset", "cifar10", "--data", dir, "--out", out, "--steps", "1"}, c.args...)
		err := runTrainApp(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: got %v, want one line containing %q", c.args, err, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: run folder created", c.args)
		}
	}
}
