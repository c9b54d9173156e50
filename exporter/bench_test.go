package exporter

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tgan-dev/tgan/model"
)

// BenchmarkGenerator measures generator throughput through ONNX Runtime on
// the CPU (default thread count) with random weights, reported as images/s.
//
//	go test -run '^$' -bench Generator ./exporter/
func BenchmarkGenerator(b *testing.B) {
	for _, bc := range []struct {
		preset string
		batch  int
	}{{"s", 32}} {
		b.Run(fmt.Sprintf("preset=%s/batch=%d", bc.preset, bc.batch), func(b *testing.B) {
			benchGenerator(b, bc.preset, bc.batch)
		})
	}
}

func benchGenerator(b *testing.B, preset string, batch int) {
	cfg, err := model.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	gw, _ := randomNets(cfg, 1)
	gm, err := Generator(cfg, gw, nil)
	if err != nil {
		b.Fatal(err)
	}
	env := openEnv(b, 0)
	path := filepath.Join(b.TempDir(), "g.onnx")
	writeModel(b, gm, path)
	m, err := env.OpenModel(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	z := randn(batch*cfg.LatentDim, 1)
	shape := []int64{int64(batch), int64(cfg.LatentDim)}
	if _, _, err := m.Run(z, shape); err != nil { // warm-up: first-run allocations
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := m.Run(z, shape); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
}
