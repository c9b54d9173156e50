package lower

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
	"github.com/tgan-dev/tgan/runtime"
	G "gorgonia.org/gorgonia"
)

// expLowerer lowers y = exp(x) for a 2x3 x holding 0..5.
func expLowerer(t *testing.T) *Lowerer {
	t.Helper()
	g := G.NewGraph()
	x := G.NewMatrix(g, G.Float32, G.WithShape(2, 3), G.WithName("x"), G.WithInit(G.Zeroes()))
	for i := range NodeData(x) {
		NodeData(x)[i] = float32(i)
	}
	l := New("exp")
	if err := l.Output(G.Must(G.Exp(x)), "y"); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestTrainingSessionOptions: Open builds the training session through
// runtime's one session path (runtime.Env.NewSession) with the training
// defaults (idle threads asleep, no CPU arena, ONNX Runtime's thread
// count, no fused rewrite), the environment's overrides apply to it as to
// inference sessions, and an explicit ProfilePrefix reaches ONNX Runtime.
func TestTrainingSessionOptions(t *testing.T) {
	testkit.RequireORT(t, runtime.FindLibrary)
	for _, name := range []string{runtime.SpinEnv, runtime.ProfileEnv, runtime.FuseEnv, runtime.TF32Env} {
		t.Setenv(name, "")
	}
	s, err := Open(expLowerer(t), runtime.CPU, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Options(), runtime.TrainingSessionOptions(runtime.CPU); got != want {
		t.Errorf("training session options %+v, want %+v", got, want)
	}
	s.Close()

	t.Setenv(runtime.SpinEnv, "on")
	o := runtime.TrainingSessionOptions(runtime.CPU)
	o.ProfilePrefix = filepath.Join(t.TempDir(), "train")
	if s, err = OpenWith(expLowerer(t), o, "", nil); err != nil {
		t.Fatal(err)
	}
	if !s.Options().Spinning || s.Options().CPUArena {
		t.Errorf("%s=on: options %+v, want spinning on, arena still off", runtime.SpinEnv, s.Options())
	}
	out, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out[0] {
		if want := math.Exp(float64(i)); math.Abs(float64(v)-want) > 1e-5*want {
			t.Errorf("y[%d] = %g, want %g", i, v, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(o.ProfilePrefix + "*.json")
	if len(files) != 1 {
		t.Errorf("ProfilePrefix %s: profile files %v, want one", o.ProfilePrefix, files)
	}
}

// TestTrainingSessionRefusals: a negative CUDA device id and an
// unresolved auto provider are errors before any library is loaded.
func TestTrainingSessionRefusals(t *testing.T) {
	o := runtime.TrainingSessionOptions(runtime.CUDA)
	o.DeviceID = -1
	if _, err := OpenWith(expLowerer(t), o, "", nil); err == nil || !strings.Contains(err.Error(), "CUDA device id -1") {
		t.Errorf("device -1: %v", err)
	}
	if _, err := Open(expLowerer(t), runtime.Auto, ""); err == nil || !strings.Contains(err.Error(), "auto") {
		t.Errorf("auto: %v", err)
	}
}
