package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/engine"
	"github.com/tgan-dev/tgan/runtime"
)

// int8CheckSamples is how many latents the export-time check of an int8
// generator runs: enough to see the cost in pixels, quick on any model.
const int8CheckSamples = 8

// reportInt8Error runs the float32 generator and its int8 form on the same
// latents with ONNX Runtime's CPU provider and prints how far apart they
// are, so that whoever exports with --int8 sees the accuracy they trade.
// Without an ONNX Runtime library it says why it skipped; the export
// itself never needs one. A discriminator is not checked.
func reportInt8Error(w io.Writer, floatGen, int8Gen string) {
	env, err := runtime.Open(runtime.Options{Provider: runtime.CPU})
	if err != nil {
		fmt.Fprintf(w, "int8 check skipped: %v\n", oneLine(err))
		return
	}
	defer env.Close()
	var outs [2][]float32
	for i, path := range []string{floatGen, int8Gen} {
		if outs[i], err = runLatents(env, path); errors.Is(err, errNotGenerator) {
			return
		} else if err != nil {
			fmt.Fprintf(w, "int8 check skipped: %v\n", oneLine(err))
			return
		}
	}
	rel, levels := int8Distance(outs[1], outs[0])
	fmt.Fprintf(w, "int8 check (%d samples against the float32 generator): max|int8-float32|/max|float32| %.3g, "+
		"mean %.2f 8-bit pixel levels apart\n", int8CheckSamples, rel, levels)
}

var errNotGenerator = errors.New("not a generator")

// runLatents runs the generator at path on int8CheckSamples latents of
// seed 1 (the stream of tgan infer --seed 1).
func runLatents(env *runtime.Env, path string) ([]float32, error) {
	m, err := env.OpenModel(path)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if v, _ := m.MetadataValue(exporter.KeyNetwork); v != exporter.GeneratorNetwork {
		return nil, errNotGenerator
	}
	in := m.Inputs()
	if len(in) != 1 || len(in[0].Shape) != 2 || in[0].Shape[1] <= 0 {
		return nil, fmt.Errorf("%s: not a generator (input %v)", path, in)
	}
	latent := in[0].Shape[1]
	z := engine.Latents(1, int8CheckSamples, int(latent))
	out, _, err := m.Run(z, []int64{int8CheckSamples, latent})
	return out, err
}

// int8Distance returns max|got-want|/max|want| and the mean absolute
// difference of the two images in 8-bit levels (x*127.5+127.5, clamped
// and truncated as tgan infer converts them).
func int8Distance(got, want []float32) (rel, levels float64) {
	var maxErr, maxRef, sum float64
	for i := range want {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i]-want[i])))
		maxRef = math.Max(maxRef, math.Abs(float64(want[i])))
		sum += math.Abs(float64(pixelLevel(got[i]) - pixelLevel(want[i])))
	}
	if maxRef == 0 || len(want) == 0 {
		return math.Inf(1), 0
	}
	return maxErr / maxRef, sum / float64(len(want))
}

func pixelLevel(x float32) int {
	return int(math.Max(0, math.Min(255, float64(x)*127.5+127.5)))
}

// floatGeneratorFor returns a float32 generator file to compare an int8
// export with: for a checkpoint export, the standard export of the same
// weights written to a temporary folder (removed by cleanup).
func floatGeneratorFor(export func(dir string) error) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "tgan-int8-check-")
	if err != nil {
		return "", func() {}, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if err := export(dir); err != nil {
		cleanup()
		return "", func() {}, err
	}
	return dir + "/generator.onnx", cleanup, nil
}
