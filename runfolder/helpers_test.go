package runfolder

import (
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/checkpoint"
	"github.com/tgan-dev/tgan/internal/data/dataset"
	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/trainer"
)

// synth is an in-memory dataset of smooth random images (as the
// trainer's tests have it).
type synth struct {
	n, size int
	data    [][]float32
}

func newSynth(n, size int) *synth {
	rng := rand.New(rand.NewSource(5))
	s := &synth{n: n, size: size}
	for i := 0; i < n; i++ {
		img := make([]float32, 3*size*size)
		fx, fy, ph := rng.Float64()*3, rng.Float64()*3, rng.Float64()*6
		for c := 0; c < 3; c++ {
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					img[(c*size+y)*size+x] = float32(math.Sin(fx*float64(x)/float64(size)*6 + fy*float64(y)/float64(size)*6 + ph + float64(c)))
				}
			}
		}
		s.data = append(s.data, img)
	}
	return s
}

func (s *synth) Len() int       { return s.n }
func (s *synth) ImageSize() int { return s.size }
func (s *synth) Read(i int, flip bool, dst []float32) {
	src := s.data[i]
	if !flip {
		copy(dst, src)
		return
	}
	S := s.size
	for r := 0; r < 3*S; r++ {
		for x := 0; x < S; x++ {
			dst[r*S+x] = src[r*S+S-1-x]
		}
	}
}

func microOptions() trainer.Options {
	return trainer.Options{GenBatch: 3, DisBatch: 2, NCritic: 2, Samples: 4, Seed: 11}
}

// newTestRun is a fresh run in dir of the micro config on synth data.
func newTestRun(t *testing.T, dir string, every int) *Run {
	t.Helper()
	return newTestRunOpts(t, dir, every, microOptions())
}

func newTestRunOpts(t *testing.T, dir string, every int, o trainer.Options) *Run {
	t.Helper()
	cfg := testkit.MicroConfig(t)
	tr, err := trainer.New(cfg, o, newSynth(7, cfg.ImageSize))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(dir, Info{Dataset: "synth", CheckpointEvery: every, Keep: 2}, tr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openSynth(_ Info, size int) (dataset.Source, error) { return newSynth(7, size), nil }

func loadLatest(t *testing.T, dir string) *checkpoint.Checkpoint {
	t.Helper()
	name, err := os.ReadFile(filepath.Join(dir, LatestFile))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Load(filepath.Join(dir, strings.TrimSpace(string(name))))
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func maxDiff(a, b model.Weights) (float64, string) {
	worst, at := 0.0, ""
	for name, x := range a {
		for i, v := range x.F32 {
			if d := math.Abs(float64(v - b[name].F32[i])); d > worst || math.IsNaN(d) {
				worst, at = d, name
			}
		}
	}
	return worst, at
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
