package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tgan-dev/tgan/exporter/fused"
)

// newSession creates the ONNX Runtime session for path on the Env's provider.
// It returns the provider actually used and, for Auto on CPU, why CUDA failed.
func (e *Env) newSession(path string, in, out []string) (*ort.DynamicAdvancedSession, Provider, string, error) {
	switch e.opts.Provider {
	case CUDA:
		s, err := e.cudaSession(path, in, out)
		if err != nil {
			return nil, "", "", err
		}
		return s, CUDA, "", nil
	case Auto:
		s, err := e.cudaSession(path, in, out)
		if err == nil {
			return s, CUDA, "", nil
		}
		s, cpuErr := e.cpuSession(path, in, out)
		if cpuErr != nil {
			return nil, "", "", cpuErr
		}
		return s, CPU, err.Error(), nil
	default:
		s, err := e.cpuSession(path, in, out)
		return s, CPU, "", err
	}
}

// ProfileEnv names the environment variable that turns on ONNX Runtime's
// profiler: every session then writes a Chrome-trace JSON file, named from
// the variable's value as a path prefix, when it is closed: the provider
// and (fused) operator of every node and its time per run (host-side time
// for the CUDA provider's asynchronous kernels).
const ProfileEnv = "TGAN_ORT_PROFILE"

// baseOptions returns session options shared by every provider: all graph
// optimisations, the Env's intra-op thread count (UsableCores unless set),
// one inter-op thread, the entries of sessionConfig, and profiling
// when ProfileEnv is set.
func (e *Env) baseOptions() (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := e.configure(so); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	return so, nil
}

// sessionConfig are the session config entries every session gets: none
// at present. ONNX Runtime's "session.set_denormal_as_zero" was measured
// and left out: a v1 generator's forward has no denormal values, with the
// official initialisation or imported weights (testdata/ref/count_denormals.py),
// it gained nothing measurable, and ONNX Runtime also sets the flush mode
// on the thread that creates the process's first session, which in a Go
// program is whichever OS thread the goroutine happened to run on.
var sessionConfig = map[string]string{}

// SpinEnv names the environment variable that stops idle intra-op threads
// from spinning ("0", "off", "false" or "no"). Spinning is ONNX Runtime's
// default and what a plain session does; on a machine with more runnable
// threads than cores the spinning threads take time from the working ones,
// and with it off the generators took 0.7-0.8x the time there
// (BENCHMARKS.md, issue 15).
const SpinEnv = "TGAN_ORT_SPIN"

func spinningOff() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(SpinEnv))) {
	case "0", "off", "false", "no":
		return true
	}
	return false
}

func (e *Env) configure(so *ort.SessionOptions) error {
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return fmt.Errorf("graph optimisation: %w", err)
	}
	if n := e.opts.IntraOpThreads; n > 0 {
		if err := so.SetIntraOpNumThreads(n); err != nil {
			return fmt.Errorf("%d intra-op threads: %w", n, err)
		}
	}
	// The graphs run sequentially (one chain of nodes); the inter-op pool
	// would only add threads that compete with the intra-op ones.
	if err := so.SetInterOpNumThreads(1); err != nil {
		return fmt.Errorf("inter-op threads: %w", err)
	}
	if spinningOff() {
		if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			return fmt.Errorf("%s: %w", SpinEnv, err)
		}
	}
	for k, v := range sessionConfig {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			return fmt.Errorf("config %s=%s: %w", k, v, err)
		}
	}
	if prefix := os.Getenv(ProfileEnv); prefix != "" {
		if err := so.EnableProfiling(prefix); err != nil {
			return fmt.Errorf("profiling (%s=%s): %w", ProfileEnv, prefix, err)
		}
	}
	return nil
}

func (e *Env) cpuSession(path string, in, out []string) (*ort.DynamicAdvancedSession, error) {
	so, err := e.baseOptions()
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	s, err := createSession(path, CPU, in, out, so)
	if err != nil {
		return nil, fmt.Errorf("create cpu session: %w", err)
	}
	return s, nil
}

// TF32Env names the environment variable that lets the CUDA provider use
// TF32 tensor cores for float32 MatMul/Gemm/Conv ("1", "on", "true" or
// "yes"). ONNX Runtime's CUDA provider enables TF32 by default, which
// rounds the inputs of those products to 10 mantissa bits on Ampere and
// newer cards; tgan turns it off so that a float32 model computes in
// float32, as PyTorch does for matrix products by default
// (torch.backends.cuda.matmul.allow_tf32 is False) and as the CPU provider
// does. Setting the variable trades that for speed.
const TF32Env = "TGAN_CUDA_TF32"

// CUDAProviderOptions are the CUDA provider options every tgan session
// uses: the device, and TF32 off unless TF32Env allows it.
func CUDAProviderOptions(deviceID int) (map[string]string, error) {
	tf32 := "0"
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(TF32Env))); v {
	case "", "0", "off", "false", "no":
	case "1", "on", "true", "yes":
		tf32 = "1"
	default:
		return nil, fmt.Errorf("%s=%q: want 1 or 0", TF32Env, v)
	}
	return map[string]string{"device_id": strconv.Itoa(deviceID), "use_tf32": tf32}, nil
}

// cudaSession creates a session on the CUDA provider. Every step is fatal:
// AppendExecutionProviderCUDA alone only says "Failed to load shared
// library", and a session built after that silently runs on CPU. Update loads
// the provider at once and returns the precise reason (a missing
// libcublasLt.so.13, no driver, ...), so it is called first. Each error
// begins with "cuda provider:".
//
// The CUDA libraries install signal handlers without SA_ONSTACK, which makes
// the Go runtime abort on the next Ctrl+C ("non-Go code set up signal handler
// without SA_ONSTACK flag"). Every call that may initialise CUDA runs under
// GuardSignals, which restores Go's handlers afterwards.
func (e *Env) cudaSession(path string, in, out []string) (*ort.DynamicAdvancedSession, error) {
	so, err := e.baseOptions()
	if err != nil {
		return nil, fmt.Errorf("cuda provider: %w", err)
	}
	defer so.Destroy()
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return nil, fmt.Errorf("cuda provider: create options: %w", err)
	}
	defer co.Destroy()
	dev := strconv.Itoa(e.opts.DeviceID)
	cudaOpts, err := CUDAProviderOptions(e.opts.DeviceID)
	if err != nil {
		return nil, fmt.Errorf("cuda provider: %w", err)
	}
	err = GuardSignals(func() error { return co.Update(cudaOpts) })
	if err != nil {
		return nil, fmt.Errorf("cuda provider: device %s: %w (library %s)", dev, err, e.lib)
	}
	if err := GuardSignals(func() error { return so.AppendExecutionProviderCUDA(co) }); err != nil {
		return nil, fmt.Errorf("cuda provider: append to session: %w (library %s)", err, e.lib)
	}
	var s *ort.DynamicAdvancedSession
	err = GuardSignals(func() error {
		var err error
		s, err = createSession(path, CUDA, in, out, so)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cuda provider: create session: %w", err)
	}
	if err := refuseInt8(s); err != nil {
		s.Destroy()
		return nil, err
	}
	return s, nil
}

// refuseInt8 fails for a file with int8 weights (tgan export --int8): the
// CUDA provider has no DynamicQuantizeMatMul kernel (it is not in ONNX
// Runtime's published CUDA kernel table, docs/OperatorKernels.md), so ONNX
// Runtime would
// quietly run those nodes on the CPU, with copies between them, which a
// CUDA session must never do. (--provider auto then uses the CPU.)
func refuseInt8(s *ort.DynamicAdvancedSession) error {
	meta, err := readMetadata(s)
	if err != nil {
		return err
	}
	if _, ok := meta[fused.KeyInt8]; ok {
		return errors.New("cuda provider: this file has int8 weights (tgan export --int8), a CPU form: run it with --provider cpu, or export the float32 file for CUDA")
	}
	return nil
}
