package exporter

import (
	"os"
	"testing"
)

func BenchmarkTmpTorchExport(b *testing.B) {
	path := os.Getenv("TGAN_TORCH_ONNX")
	if path == "" {
		b.Skip()
	}
	env := openEnv(b, 0)
	m, err := env.OpenModel(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	z := randn(32*1024, 1)
	shape := []int64{32, 1024}
	m.Run(z, shape)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := m.Run(z, shape); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*32)/b.Elapsed().Seconds(), "images/s")
}
