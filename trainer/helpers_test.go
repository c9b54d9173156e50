package trainer

import (
	"math"
	"math/rand"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// synth is an in-memory dataset of smooth random images.
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

// microConfig is a v1 model small enough for tests: 8x8 images.
func microConfig(tb testing.TB) *model.Config {
	tb.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.LatentDim, cfg.GDim, cfg.BottomWidth, cfg.GDepths = 8, 64, 2, []int{1, 1, 1}
	cfg.ImageSize = 8
	cfg.DDim, cfg.DDepth, cfg.DPatch = 16, 1, 2
	cfg.MaskSchedule = []model.MaskStep{{UntilEpoch: 1, Window: 4}}
	return cfg
}

func microOptions() Options {
	return Options{GenBatch: 3, DisBatch: 2, NCritic: 2, Samples: 4, Seed: 11}
}
