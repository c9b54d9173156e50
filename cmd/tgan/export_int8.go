package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/internal/fileio/imageio"
	"github.com/tgan-dev/tgan/internal/infer/engine"
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
	// A generator takes z, and attention noise too in some families (Run
	// draws it from the latents: both files get the same noise).
	if len(in) == 0 || (len(in) != 1 && m.NoiseSize() == 0) || len(in[0].Shape) != 2 || in[0].Shape[1] <= 0 {
		return nil, fmt.Errorf("%s: not a generator (input %v)", path, in)
	}
	latent := in[0].Shape[1]
	z := engine.Latents(1, int8CheckSamples, int(latent))
	out, _, err := m.Run(z, []int64{int8CheckSamples, latent})
	return out, err
}

// int8Distance returns max|got-want|/max|want| (maxRelErr, as tgan bench
// --compare-cpu reports it) and the mean absolute difference of the two
// images in 8-bit levels, converted as tgan infer writes them.
func int8Distance(got, want []float32) (rel, levels float64) {
	if len(want) == 0 {
		return math.Inf(1), 0
	}
	var sum float64
	for i := range want {
		sum += math.Abs(float64(imageio.ToUint8(got[i])) - float64(imageio.ToUint8(want[i])))
	}
	return maxRelErr(got, want), sum / float64(len(want))
}

// floatGenerator writes the standard float32 export of src's generator to
// a temporary folder, to compare an int8 export with; cleanup removes it.
func floatGenerator(src exporter.Source) (path string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "tgan-int8-check-")
	if err != nil {
		return "", func() {}, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	src.Dis = nil
	if _, err := exporter.Export(src, dir, exporter.Options{Version: version}); err != nil {
		cleanup()
		return "", func() {}, err
	}
	return filepath.Join(dir, exporter.GeneratorFile), cleanup, nil
}
