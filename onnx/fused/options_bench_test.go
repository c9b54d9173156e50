package fused_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tgan-dev/tgan/onnx/fused"
	"github.com/tgan-dev/tgan/runtime"
)

// BenchmarkSessionOptions times the fused CPU form of DIR/s/generator.onnx
// (see BenchEnv) at batch 32 under ONNX Runtime session options that tgan's
// runtime does not set today, interleaved round by round: graph
// optimisation levels basic, extended and all (tgan's), and a session
// loaded from the model that a level-all session saved
// (SetOptimizedModelFilePath) with optimisations off. It reports
// images/s and session creation times. Sessions are made directly with
// onnxruntime_go, 2 intra-op threads.
//
//	TGAN_FUSED_BENCH=DIR go test -run '^$' -bench SessionOptions -benchtime 9x ./onnx/fused/
func BenchmarkSessionOptions(b *testing.B) {
	dir := os.Getenv(BenchEnv)
	if dir == "" {
		b.Skipf("%s not set", BenchEnv)
	}
	data, err := os.ReadFile(filepath.Join(dir, "s", "generator.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	fusedData, _, err := fused.Bytes(data, fused.Options{Target: fused.CPU})
	if err != nil {
		b.Fatal(err)
	}
	env, err := runtime.Open(runtime.Options{IntraOpThreads: 2}) // loads the library
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	saved := filepath.Join(b.TempDir(), "optimised.onnx")
	type session struct {
		name   string
		s      *ort.DynamicAdvancedSession
		opened time.Duration
		runs   []float64
	}
	newSession := func(name string, level ort.GraphOptimizationLevel, model []byte, save string) *session {
		so, err := ort.NewSessionOptions()
		if err != nil {
			b.Fatal(err)
		}
		defer so.Destroy()
		if err := so.SetGraphOptimizationLevel(level); err != nil {
			b.Fatal(err)
		}
		if err := so.SetIntraOpNumThreads(2); err != nil {
			b.Fatal(err)
		}
		if save != "" {
			if err := so.SetOptimizedModelFilePath(save); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"z"}, []string{"image"}, so)
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return &session{name: name, s: s, opened: time.Since(start)}
	}
	all := newSession("all", ort.GraphOptimizationLevelEnableAll, fusedData, saved)
	savedData, err := os.ReadFile(saved)
	if err != nil {
		b.Fatal(err)
	}
	sessions := []*session{
		all,
		newSession("extended", ort.GraphOptimizationLevelEnableExtended, fusedData, ""),
		newSession("basic", ort.GraphOptimizationLevelEnableBasic, fusedData, ""),
		newSession("saved", ort.GraphOptimizationLevelDisableAll, savedData, ""),
	}
	defer func() {
		for _, s := range sessions {
			s.s.Destroy()
		}
	}()
	const batch = 32
	z, err := ort.NewTensor(ort.NewShape(batch, 1024), randn(batch*1024, 1))
	if err != nil {
		b.Fatal(err)
	}
	defer z.Destroy()
	runOnce := func(s *session) time.Duration {
		out := []ort.Value{nil}
		start := time.Now()
		if err := s.s.Run([]ort.Value{z}, out); err != nil {
			b.Fatalf("%s: %v", s.name, err)
		}
		d := time.Since(start)
		out[0].Destroy()
		return d
	}
	for _, s := range sessions {
		runOnce(s) // warm-up
	}
	b.Run("preset=s/batch=32", func(b *testing.B) {
		for _, s := range sessions {
			s.runs = s.runs[:0]
		}
		for i := 0; i < b.N; i++ {
			for j := range sessions {
				s := sessions[(i+j)%len(sessions)]
				s.runs = append(s.runs, runOnce(s).Seconds())
			}
		}
		for _, s := range sessions {
			b.ReportMetric(batch/median(s.runs), s.name+"-img/s")
			b.ReportMetric(s.opened.Seconds(), s.name+"-open-s")
		}
	})
	fmt.Fprintf(os.Stderr, "saved optimised model: %d bytes\n", len(savedData))
}
