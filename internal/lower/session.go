package lower

import (
	"fmt"
	"os"
	"time"

	"github.com/tgan-dev/tgan/runtime"
	ort "github.com/yalue/onnxruntime_go"
)

// Session runs a lowered graph with ONNX Runtime: inputs are read from the
// Gorgonia nodes' current values (wrapped, not copied) and from the Extra
// fill functions; outputs are copied into Go slices.
type Session struct {
	env      *runtime.Env
	sess     *ort.DynamicAdvancedSession
	inputs   []Input
	extras   []Extra
	outputs  []string
	outBufs  [][]float32 // Go memory ONNX Runtime writes the outputs into
	outVals  []ort.Value // tensors wrapping outBufs
	provider runtime.Provider
	// IOTime accumulates the time Run spends outside ONNX Runtime's own
	// run: wrapping the Go inputs (outputs are written into Go buffers
	// directly) and returning freed C memory.
	IOTime time.Duration
}

// Open creates a session for l's graph on provider (cpu or cuda; cuda never
// falls back to CPU). The Env it opens keeps ONNX Runtime loaded until
// Close.
func Open(l *Lowerer, provider runtime.Provider, libPath string) (*Session, error) {
	data, err := l.Model()
	if err != nil {
		return nil, err
	}
	if provider == runtime.Auto {
		return nil, fmt.Errorf("lower: provider auto must be resolved by the caller")
	}
	env, err := runtime.Open(runtime.Options{Provider: provider, LibraryPath: libPath})
	if err != nil {
		return nil, err
	}
	s := &Session{env: env, inputs: l.Inputs(), extras: l.Extras(), outputs: l.Outputs(), provider: provider}
	names := make([]string, 0, len(s.inputs)+len(s.extras))
	for _, in := range s.inputs {
		names = append(names, in.Name)
	}
	for _, e := range s.extras {
		names = append(names, e.Name)
	}
	so, err := sessionOptions(provider)
	if err != nil {
		env.Close()
		return nil, err
	}
	defer so.Destroy()
	for _, shape := range l.outShape {
		buf := make([]float32, total(shape))
		t, err := ort.NewTensor(ort.NewShape(dims64(shape)...), buf)
		if err != nil {
			s.destroyOutputs()
			env.Close()
			return nil, fmt.Errorf("output tensor: %w", err)
		}
		s.outBufs, s.outVals = append(s.outBufs, buf), append(s.outVals, t)
	}
	err = runtime.GuardSignals(func() error {
		var err error
		s.sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data, names, s.outputs, so)
		return err
	})
	if err != nil {
		s.destroyOutputs()
		env.Close()
		if provider == runtime.CUDA {
			return nil, fmt.Errorf("cuda provider: create training session: %w", err)
		}
		return nil, fmt.Errorf("create training session: %w", err)
	}
	return s, nil
}

// sessionOptions enables every graph optimisation; for CUDA it loads the
// provider at once so that a missing library is an error here.
func sessionOptions(provider runtime.Provider) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	// Idle worker threads sleep instead of spinning: between runs the
	// trainer works in Go (Adam, augmentation), and spinning threads took
	// those cores (and a shared machine's) away.
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	// No CPU arena: each session's arena would keep its own peak, and the
	// trainer's four sessions run one after another, so their peaks would
	// add up (tiny, batch 16: 0.65 GB max RSS with arenas, 0.45 GB without,
	// same speed).
	if err := so.SetCpuMemArena(false); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	if prefix := os.Getenv(runtime.ProfileEnv); prefix != "" {
		if err := so.EnableProfiling(prefix); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("session options: profiling: %w", err)
		}
	}
	if provider != runtime.CUDA {
		return so, nil
	}
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		so.Destroy()
		return nil, fmt.Errorf("cuda provider: create options: %w", err)
	}
	defer co.Destroy()
	cudaOpts, err := runtime.CUDAProviderOptions(0)
	if err != nil {
		so.Destroy()
		return nil, fmt.Errorf("cuda provider: %w", err)
	}
	if err := runtime.GuardSignals(func() error { return co.Update(cudaOpts) }); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("cuda provider: %w", err)
	}
	if err := runtime.GuardSignals(func() error { return so.AppendExecutionProviderCUDA(co) }); err != nil {
		so.Destroy()
		return nil, fmt.Errorf("cuda provider: append to session: %w", err)
	}
	return so, nil
}

// Run executes the graph once and returns the outputs in Outputs order.
// ONNX Runtime writes them straight into Go buffers that the next Run
// overwrites: copy what must outlive it.
func (s *Session) Run() ([][]float32, error) {
	start := time.Now()
	var inORT time.Duration
	defer func() { s.IOTime += time.Since(start) - inORT }()
	vals := make([]ort.Value, 0, len(s.inputs)+len(s.extras))
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	add := func(name string, shape []int, data []float32) error {
		if len(data) != total(shape) {
			return fmt.Errorf("input %s has %d values, want %d", name, len(data), total(shape))
		}
		t, err := ort.NewTensor(ort.NewShape(dims64(shape)...), data)
		if err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		vals = append(vals, t)
		return nil
	}
	for _, in := range s.inputs {
		if err := add(in.Name, in.Shape, NodeData(in.Node)); err != nil {
			return nil, err
		}
	}
	for _, e := range s.extras {
		if err := add(e.Name, e.Shape, e.Fill()); err != nil {
			return nil, err
		}
	}
	runStart := time.Now()
	err := s.sess.Run(vals, s.outVals)
	inORT = time.Since(runStart)
	releaseFreedMemory() // counted in IOTime
	if err != nil {
		return nil, fmt.Errorf("onnx runtime: %w", err)
	}
	return s.outBufs, nil
}

func (s *Session) destroyOutputs() {
	for _, v := range s.outVals {
		v.Destroy()
	}
	s.outVals, s.outBufs = nil, nil
}

// Provider is the execution provider the session runs on.
func (s *Session) Provider() runtime.Provider { return s.provider }

// Close releases the session and its environment reference.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	s.destroyOutputs()
	if cerr := s.env.Close(); err == nil {
		err = cerr
	}
	return err
}
