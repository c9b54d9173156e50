package trainer

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tgan-dev/tgan/model"
)

// BenchmarkIteration times one training iteration that does both a D step
// with the gradient penalty and a G step (n_critic 1), per preset and batch
// (D and G batch equal). The s preset needs several GB and minutes per
// iteration on 2 cores: set TGAN_BENCH_S=BATCH (e.g. 32) to include it.
func BenchmarkIteration(b *testing.B) {
	cases := []struct {
		preset string
		batch  int
	}{{"tiny", 16}, {"tiny", 32}}
	if n, err := strconv.Atoi(os.Getenv("TGAN_BENCH_S")); err == nil && n > 0 {
		cases = append(cases, struct {
			preset string
			batch  int
		}{"s", n})
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("preset=%s/batch=%d", c.preset, c.batch), func(b *testing.B) {
			cfg, err := model.Preset(c.preset)
			if err != nil {
				b.Fatal(err)
			}
			tr, err := New(cfg, Options{DisBatch: c.batch, GenBatch: c.batch, NCritic: 1, Samples: 1, Seed: 1}, newSynth(2*c.batch, cfg.ImageSize))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tr.Step(); err != nil { // warm-up: first run allocates
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := tr.Step(); err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds() / float64(b.N)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(sec, "s/iter")
			b.ReportMetric(float64(3*c.batch+c.batch)/sec, "img/s")
			b.ReportMetric(float64(ms.Sys)/(1<<30), "GiB-sys")
		})
	}
}
