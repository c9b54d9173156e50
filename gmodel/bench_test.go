package gmodel

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// BenchmarkGenerator times one G forward pass (random weights) per preset
// and batch size. The s preset at batch 32 is the number BENCHMARKS.md
// compares with PyTorch eager (testdata/ref/bench_torch.py).
//
//	go test -run - -bench Generator -benchtime 3x ./gmodel/
func BenchmarkGenerator(b *testing.B) {
	for _, c := range []struct {
		preset string
		batch  int
	}{{"tiny", 64}, {"s", 32}, {"final-cifar", 8}} {
		b.Run(fmt.Sprintf("preset=%s/batch=%d", c.preset, c.batch), func(b *testing.B) {
			cfg, _ := model.Preset(c.preset)
			rng := rand.New(rand.NewSource(1))
			net, err := BuildGenerator(cfg, model.InitWeights(cfg.GParams(), rng), c.batch, Inference())
			if err != nil {
				b.Fatal(err)
			}
			z := make([]float32, c.batch*cfg.LatentDim)
			for i := range z {
				z[i] = float32(rng.NormFloat64())
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := net.Forward(z); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.batch*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
