package runtime

import (
	"strings"
	"testing"

	"github.com/tgan-dev/tgan/internal/testkit"
)

// These tests use the library a user asking for CUDA gets (.ort/cuda when
// scripts/setup.sh --cuda ran, else .ort/lib). On a machine without a GPU,
// CUDA must fail with a CUDA error and Auto must fall back to CPU; on a GPU
// machine with the CUDA 13 libraries both must run on CUDA and match torch.

func TestCUDAProviderFailsLoudlyOrRuns(t *testing.T) {
	env := openEnv(t, Options{Provider: CUDA})
	t.Logf("library %s (ORT %s)", env.LibraryPath(), env.Version())
	m, err := env.OpenModel(tinyPath("tiny_gen.onnx"))
	if err != nil {
		msg := err.Error()
		if !strings.Contains(msg, "cuda provider:") || !strings.Contains(msg, "runtime: open model") {
			t.Fatalf("CUDA error does not name CUDA and the model: %v", err)
		}
		t.Logf("no CUDA here, as expected on a CPU machine: %v", err)
		return
	}
	defer m.Close()
	if m.Provider() != CUDA {
		t.Fatalf("provider %q with no error: silent fallback", m.Provider())
	}
	checkTinyGen(t, m)
}

// The CPU library from scripts/setup.sh has no CUDA provider libraries next
// to it: asking it for CUDA must fail, naming CUDA.
func TestCUDAProviderWithCPULibrary(t *testing.T) {
	lib := testkit.RequireORT(t, FindLibrary)
	env := openEnv(t, Options{Provider: CUDA, LibraryPath: lib})
	m, err := env.OpenModel(tinyPath("tiny_gen.onnx"))
	if err == nil {
		m.Close()
		t.Skipf("%s loaded a CUDA provider: this machine has the CUDA set next to it", lib)
	}
	if !strings.Contains(err.Error(), "cuda provider:") {
		t.Fatalf("error does not name CUDA: %v", err)
	}
	t.Logf("%v", err)
}

func TestAutoProviderFallsBackWithReason(t *testing.T) {
	env := openEnv(t, Options{Provider: Auto})
	m := openModel(t, env, "tiny_gen.onnx")
	switch m.Provider() {
	case CPU:
		if r := m.FallbackReason(); !strings.Contains(r, "cuda provider:") {
			t.Errorf("fell back to CPU with reason %q", r)
		} else {
			t.Logf("auto -> cpu: %s", r)
		}
	case CUDA:
		if r := m.FallbackReason(); r != "" {
			t.Errorf("on CUDA but FallbackReason = %q", r)
		}
	default:
		t.Fatalf("provider %q", m.Provider())
	}
	checkTinyGen(t, m)
}

func checkTinyGen(t *testing.T, m *Model) {
	t.Helper()
	e := loadExpected(t)
	out, _, err := m.Run(e.Input, e.InputShape)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, out, e.Output, 1e-5)
}

// TestCUDAProviderOptionsTF32: sessions on the CUDA provider compute
// float32 products in float32 unless TF32 is asked for (the option, or
// TGAN_CUDA_TF32 overriding it), on the device the options name; a value
// that is neither on nor off is an error naming the variable.
func TestCUDAProviderOptionsTF32(t *testing.T) {
	for _, c := range []struct {
		env       string
		option    bool
		want, err string
	}{
		{"", false, "0", ""}, {"", true, "1", ""}, {"0", true, "0", ""}, {"off", false, "0", ""},
		{"1", false, "1", ""}, {"yes", false, "1", ""}, {"fast", false, "", TF32Env},
	} {
		t.Setenv(TF32Env, c.env)
		o := InferenceSessionOptions(CUDA)
		o.DeviceID, o.TF32 = 3, c.option
		o, err := ApplyEnv(o)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s=%q: error %v, want one naming %s", TF32Env, c.env, err, c.err)
			}
			continue
		}
		got := cudaProviderOptions(o)
		if err != nil || got["use_tf32"] != c.want || got["device_id"] != "3" {
			t.Errorf("%s=%q, TF32 %v: %v, %v; want use_tf32=%s device_id=3", TF32Env, c.env, c.option, got, err, c.want)
		}
	}
}
