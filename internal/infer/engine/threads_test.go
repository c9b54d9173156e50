package engine

import (
	"math/rand"
	"testing"

	"github.com/tgan-dev/tgan/gmodel"
	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
)

// TestGorgoniaThreads checks that opening a checkpoint sizes OpenBLAS: the
// --threads value when given, else the usable cores.
func TestGorgoniaThreads(t *testing.T) {
	if gmodel.BLASName != "openblas" {
		t.Skip("pure-Go build: no BLAS threads to size")
	}
	for _, v := range blasThreadEnv {
		t.Setenv(v, "")
	}
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	ck := &checkpoint.Checkpoint{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(1)))}
	open := func(threads int) {
		t.Helper()
		opts := Options{RawGenerator: true}
		opts.Runtime.IntraOpThreads = threads
		if _, err := FromCheckpoint(ck, Generator, opts); err != nil {
			t.Fatal(err)
		}
	}
	defer setBLASThreads(blasThreads())
	open(1)
	if got := blasThreads(); got != 1 {
		t.Errorf("--threads 1: OpenBLAS runs %d threads", got)
	}
	open(0)
	if got, want := blasThreads(), runtime.UsableCores(); got != want {
		t.Errorf("default: %d BLAS threads, want the usable cores (%d)", got, want)
	}
}
