package runtime

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tgan-dev/tgan/exporter"
	"github.com/tgan-dev/tgan/model"
)

// TestSessionOptionsValidate: a negative CUDA device id, an unknown
// provider or a thread count below -1 is refused with an error naming it,
// before any library is loaded.
func TestSessionOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    SessionOptions
		want string
	}{
		{SessionOptions{Provider: CUDA, DeviceID: -1}, "CUDA device id -1"},
		{SessionOptions{Provider: "tpu"}, `unknown provider "tpu"`},
		{SessionOptions{Provider: CPU, IntraOpThreads: -2}, "-2 intra-op threads"},
	} {
		if err := c.o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", c.o, err, c.want)
		}
	}
	for _, o := range []SessionOptions{InferenceSessionOptions(CPU), TrainingSessionOptions(CUDA), {Provider: Auto, DeviceID: 7}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := Open(Options{DeviceID: -1}); err == nil || !strings.Contains(err.Error(), "CUDA device id -1") {
		t.Errorf("Open with device -1: %v", err)
	}
}

// TestDefaultsPerUse: inference and training sessions differ by explicit
// fields only.
func TestDefaultsPerUse(t *testing.T) {
	inf, tr := InferenceSessionOptions(CPU), TrainingSessionOptions(CPU)
	if !inf.Spinning || !inf.CPUArena || !inf.Fuse || inf.TF32 || inf.IntraOpThreads != 0 {
		t.Errorf("inference defaults %+v", inf)
	}
	if tr.Spinning || tr.CPUArena || tr.Fuse || tr.TF32 || tr.IntraOpThreads != ORTDefaultThreads {
		t.Errorf("training defaults %+v", tr)
	}
	o := Options{Provider: CUDA, DeviceID: 2, IntraOpThreads: 3}.SessionOptions()
	if o.Provider != CUDA || o.DeviceID != 2 || o.IntraOpThreads != 3 || !o.Fuse {
		t.Errorf("Env options -> session options: %+v", o)
	}
}

// TestApplyEnvPrecedence: a set variable overrides the field the caller
// chose, in both directions; an empty one leaves it; a value that is
// neither on nor off is an error naming the variable.
func TestApplyEnvPrecedence(t *testing.T) {
	for _, name := range []string{SpinEnv, TF32Env, FuseEnv, ProfileEnv} {
		t.Setenv(name, "")
	}
	inf, tr := InferenceSessionOptions(CPU), TrainingSessionOptions(CPU)
	inf.ProfilePrefix = "/explicit"
	if got, err := ApplyEnv(inf); err != nil || got != inf {
		t.Errorf("no variables: %+v, %v; want %+v unchanged", got, err, inf)
	}
	t.Setenv(SpinEnv, "off")
	t.Setenv(FuseEnv, "0")
	t.Setenv(TF32Env, "yes")
	t.Setenv(ProfileEnv, "/from-env")
	got, err := ApplyEnv(inf)
	if err != nil || got.Spinning || got.Fuse || !got.TF32 || got.ProfilePrefix != "/from-env" || !got.CPUArena {
		t.Errorf("overrides on inference options: %+v, %v", got, err)
	}
	t.Setenv(SpinEnv, "ON")
	t.Setenv(FuseEnv, "true")
	t.Setenv(TF32Env, "0")
	tr.TF32 = true
	got, err = ApplyEnv(tr)
	if err != nil || !got.Spinning || !got.Fuse || got.TF32 || got.CPUArena {
		t.Errorf("overrides on training options: %+v, %v", got, err)
	}
	for _, name := range []string{SpinEnv, TF32Env, FuseEnv} {
		t.Setenv(name, "maybe")
		if _, err := ApplyEnv(tr); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=maybe: %v, want an error naming it", name, err)
		}
		t.Setenv(name, "")
	}
}

// TestOptionsReachORT: the options ONNX Runtime receives carry the
// spinning choice (read back from ONNX Runtime's own options object).
func TestOptionsReachORT(t *testing.T) {
	env := openEnv(t, Options{})
	for _, spin := range []bool{false, true} {
		o := TrainingSessionOptions(CPU)
		o.Spinning = spin
		so, err := env.ortOptions(o)
		if err != nil {
			t.Fatal(err)
		}
		v, err := so.GetSessionConfigEntry(spinKey)
		so.Destroy()
		if want := map[bool]string{false: "0", true: "1"}[spin]; err != nil || v != want {
			t.Errorf("Spinning %v: ONNX Runtime has %s = %q (%v), want %q", spin, spinKey, v, err, want)
		}
	}
}

// profileFiles returns the profile files written under prefix.
func profileFiles(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob(prefix + "*.json")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkProfile reads a profile and checks that it records node runs.
func checkProfile(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Cat  string `json:"cat"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &events); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	nodes := 0
	for _, e := range events {
		if e.Cat == "Node" {
			nodes++
		}
	}
	if nodes == 0 {
		t.Errorf("%s: %d events, none of a node run", path, len(events))
	}
}

// TestProfilePrefixWritesFile: ProfilePrefix reaches ONNX Runtime (a
// session run and closed writes its profile there), and TGAN_ORT_PROFILE
// overrides it.
func TestProfilePrefixWritesFile(t *testing.T) {
	t.Setenv(ProfileEnv, "")
	env := openEnv(t, Options{})
	e := loadExpected(t)
	dir := t.TempDir()
	run := func(o SessionOptions) {
		t.Helper()
		m, err := env.OpenModelWith(tinyPath("tiny_gen.onnx"), o)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Run(e.Input, e.InputShape); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	o := InferenceSessionOptions(CPU)
	o.ProfilePrefix = filepath.Join(dir, "option")
	run(o)
	files := profileFiles(t, o.ProfilePrefix)
	if len(files) != 1 {
		t.Fatalf("ProfilePrefix %s: files %v, want one", o.ProfilePrefix, files)
	}
	checkProfile(t, files[0])

	o.ProfilePrefix = filepath.Join(dir, "ignored")
	t.Setenv(ProfileEnv, filepath.Join(dir, "env"))
	run(o)
	if files := profileFiles(t, filepath.Join(dir, "ignored")); len(files) != 0 {
		t.Errorf("the option's prefix was used despite %s: %v", ProfileEnv, files)
	}
	if files := profileFiles(t, filepath.Join(dir, "env")); len(files) != 1 {
		t.Errorf("%s: files %v, want one", ProfileEnv, files)
	}
}

// TestSessionFromBytes: NewSession runs a model given as bytes, with the
// same numbers as the file, and reports the options it applied.
func TestSessionFromBytes(t *testing.T) {
	env := openEnv(t, Options{})
	data, err := os.ReadFile(tinyPath("tiny_gen.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	ref := openModel(t, env, "tiny_gen.onnx")
	o := TrainingSessionOptions(CPU)
	o.IntraOpThreads = 1
	s, err := env.NewSession(data, names(ref.Inputs()), names(ref.Outputs()), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Options(); got != o || s.Provider() != CPU || s.Fused() != "" {
		t.Errorf("session options %+v (provider %s, fused %q), want %+v", got, s.Provider(), s.Fused(), o)
	}
	e := loadExpected(t)
	in, err := ort.NewTensor(ort.NewShape(e.InputShape...), e.Input)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, out); err != nil {
		t.Fatal(err)
	}
	defer out[0].Destroy()
	assertClose(t, out[0].(*ort.Tensor[float32]).GetData(), e.Output, 1e-5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Run([]ort.Value{in}, out); err == nil {
		t.Error("Run after Close succeeded")
	}
}

// TestFuseOption: a tgan export runs in its fused form by default, as it
// is with Fuse off, and the model says which (Fused, metadata KeyFused).
func TestFuseOption(t *testing.T) {
	t.Setenv(FuseEnv, "")
	env := openEnv(t, Options{})
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := exporter.Source{Config: cfg, Gen: model.InitWeights(cfg.GParams(), rand.New(rand.NewSource(1))), FromGen: true}
	if _, err := exporter.Export(src, dir, exporter.Options{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, exporter.GeneratorFile)
	m, err := env.OpenModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Fused() != "cpu" || !m.SessionOptions().Fuse {
		t.Errorf("default: fused %q, options %+v; want the cpu fused form", m.Fused(), m.SessionOptions())
	}
	m.Close()
	o := env.Options().SessionOptions()
	o.Fuse = false
	if m, err = env.OpenModelWith(path, o); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if f, ok := m.MetadataValue(KeyFused); ok || m.Fused() != "" {
		t.Errorf("Fuse off: fused %q (%v)", f, ok)
	}
}
