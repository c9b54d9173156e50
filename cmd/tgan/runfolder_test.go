package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/runtime"
)

// TestRunFolderWhereverACheckpoint: infer, score and stats take a training
// run folder and use the checkpoint its latest entry names, with the same
// results as the checkpoint file itself.
func TestRunFolderWhereverACheckpoint(t *testing.T) {
	run, tmp := t.TempDir(), t.TempDir()
	ckpt := filepath.Join(run, "ckpt-2.safetensors")
	saveTiny(t, ckpt)
	if err := os.WriteFile(filepath.Join(run, "latest"), []byte("ckpt-2.safetensors\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	same := func(what string, args func(model, out string) []string) {
		t.Helper()
		outs := [2]string{filepath.Join(tmp, what+"-file"), filepath.Join(tmp, what+"-run")}
		for i, m := range []string{ckpt, run} {
			if out, err := runApp(t, args(m, outs[i])...); err != nil {
				t.Fatalf("%s %s: %v\n%s", what, m, err, out)
			}
		}
		a, _ := os.ReadFile(outs[0])
		b, _ := os.ReadFile(outs[1])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: the run folder gives other output than its checkpoint (%d vs %d bytes)", what, len(b), len(a))
		}
	}
	same("infer", func(m, out string) []string {
		return []string{"infer", "--n", "3", "--out", "", "--raw", out, m}
	})
	images := filepath.Join(tmp, "infer-file")
	if out, err := runApp(t, "score", "--images", images, run); err != nil {
		t.Fatalf("score RUN: %v\n%s", err, out)
	}
	if _, err := runtime.FindLibrary("", false); err == nil {
		same("stats", func(m, out string) []string {
			return []string{"stats", "--inception", evalFile("tiny_inception.onnx"), "--n", "4", "--out", out, m}
		})
	}
	// A folder without a latest entry says so.
	_, err := runApp(t, "infer", "--out", "", tmp)
	if err == nil || !strings.Contains(err.Error(), "without a 'latest' entry") {
		t.Errorf("infer on a folder without latest: %v", err)
	}
}
