// Command plainort times a generator file in a plain onnxruntime_go session,
// the yardstick of BENCHMARKS.md's "Model zoo" section (benchmarks/zoo_bench.sh):
// what a user of that library writes for a torch.onnx.export file. Settings
// are benchmarks/plainbench's reference: intra-op threads 2, inter-op 1, all
// graph optimisations, the input slice wrapped in a tensor, a fresh output
// each run. Every float input gets standard normals of its shape (a dynamic
// dimension becomes -batch).
//
//	go run ./benchmarks/plainort -batch 1 -iters 3 /tmp/zoo/celeba-hq-256/G.onnx
//
// Prints one line: seconds per batch (mean of the timed runs after one
// warm-up), images/s and the session creation time.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"time"

	"github.com/tgan-dev/tgan/runtime"
	ort "github.com/yalue/onnxruntime_go"
)

func main() {
	batch := flag.Int("batch", 1, "batch size for dynamic dimensions")
	iters := flag.Int("iters", 3, "timed runs after one warm-up")
	threads := flag.Int("threads", 2, "intra-op threads")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: plainort [-batch N] [-iters N] [-threads N] FILE.onnx")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *batch, *iters, *threads); err != nil {
		fmt.Fprintf(os.Stderr, "plainort: %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
}

func run(path string, batch, iters, threads int) error {
	lib, err := runtime.FindLibrary("", false)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return err
	}
	defer ort.DestroyEnvironment()
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return err
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	for _, err := range []error{so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll),
		so.SetIntraOpNumThreads(threads), so.SetInterOpNumThreads(1)} {
		if err != nil {
			return err
		}
	}
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	start := time.Now()
	s, err := ort.NewDynamicAdvancedSession(path, names, []string{outs[0].Name}, so)
	if err != nil {
		return err
	}
	defer s.Destroy()
	opened := time.Since(start)
	rng := rand.New(rand.NewSource(1))
	once := func() error {
		vals := make([]ort.Value, len(ins))
		for i, in := range ins {
			dims := append([]int64(nil), in.Dimensions...)
			for j, d := range dims {
				if d < 1 {
					dims[j] = int64(batch)
				}
			}
			shape := ort.NewShape(dims...)
			data := make([]float32, shape.FlattenedSize())
			for k := range data {
				data[k] = float32(rng.NormFloat64())
			}
			t, err := ort.NewTensor(shape, data)
			if err != nil {
				return err
			}
			defer t.Destroy()
			vals[i] = t
		}
		out := []ort.Value{nil}
		if err := s.Run(vals, out); err != nil {
			return err
		}
		return out[0].Destroy()
	}
	if err := once(); err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < iters; i++ {
		if err := once(); err != nil {
			return err
		}
	}
	sec := time.Since(start).Seconds() / float64(iters)
	fmt.Printf("plain session %s batch %d: %.4f s/batch, %.3f img/s (session %.1f s)\n",
		path, batch, sec, float64(batch)/sec, opened.Seconds())
	return nil
}
