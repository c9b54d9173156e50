package trainer

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/runtime"
	"go.yaml.in/yaml/v3"
)

// BenchmarkExecutor times one official iteration (D step with the
// WGAN-GP-eps penalty and DiffAugment, then a G step; n_critic 1, D and G
// batch equal) on one executor, configured by the environment so that
// each executor runs in its own process and /usr/bin/time -v reports its
// peak RSS alone (BENCHMARKS.md, "Training executors"):
//
//	TGAN_BENCH_MODEL     preset name or model config FILE.yaml (default tiny)
//	TGAN_BENCH_BATCH     batch (default 16)
//	TGAN_BENCH_EXECUTOR  gorgonia (default) or ort
func BenchmarkExecutor(b *testing.B) {
	cfg, err := benchModel(os.Getenv("TGAN_BENCH_MODEL"))
	if err != nil {
		b.Fatal(err)
	}
	batch := 16
	if n, err := strconv.Atoi(os.Getenv("TGAN_BENCH_BATCH")); err == nil && n > 0 {
		batch = n
	}
	exec := os.Getenv("TGAN_BENCH_EXECUTOR")
	if exec == "" {
		exec = ExecutorGorgonia
	}
	b.Run(fmt.Sprintf("executor=%s/batch=%d", exec, batch), func(b *testing.B) {
		tr, err := New(cfg, Options{DisBatch: batch, GenBatch: batch, NCritic: 1, Samples: 1, Seed: 1}, newSynth(2*batch, cfg.ImageSize))
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		if _, err := tr.UseExecutor(exec, runtime.CPU, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := tr.Step(); err != nil { // warm-up: first runs allocate
			b.Fatal(err)
		}
		b.ResetTimer()
		start, io0 := time.Now(), tr.ExecutorIOTime()
		for i := 0; i < b.N; i++ {
			if _, err := tr.Step(); err != nil {
				b.Fatal(err)
			}
		}
		sec := time.Since(start).Seconds() / float64(b.N)
		b.ReportMetric(sec, "s/iter")
		b.ReportMetric(float64(4*batch)/sec, "img/s")
		b.ReportMetric((tr.ExecutorIOTime()-io0).Seconds()*1000/float64(b.N), "io-ms/iter")
	})
}

func benchModel(s string) (*model.Config, error) {
	if s == "" {
		s = "tiny"
	}
	if _, err := os.Stat(s); err != nil {
		return model.Preset(s)
	}
	raw, err := os.ReadFile(s)
	if err != nil {
		return nil, err
	}
	var cfg model.Config
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return &cfg, cfg.Validate()
}
