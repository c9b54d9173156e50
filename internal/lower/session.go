package lower

import (
	"fmt"
	"time"

	"github.com/tgan-dev/tgan/runtime"
	ort "github.com/yalue/onnxruntime_go"
)

// Session runs a lowered graph with ONNX Runtime: inputs are read from the
// Gorgonia nodes' current values (wrapped, not copied) and from the Extra
// fill functions; outputs are copied into Go slices.
type Session struct {
	env     *runtime.Env
	sess    *runtime.Session
	inputs  []Input
	extras  []Extra
	outputs []string
	outBufs [][]float32 // Go memory ONNX Runtime writes the outputs into
	outVals []ort.Value // tensors wrapping outBufs
	opts    runtime.SessionOptions
	// IOTime accumulates the time Run spends outside ONNX Runtime's own
	// run: wrapping the Go inputs (outputs are written into Go buffers
	// directly) and returning freed C memory.
	IOTime time.Duration
}

// Open creates a session for l's graph on provider (cpu or cuda; cuda never
// falls back to CPU) with the training defaults
// (runtime.TrainingSessionOptions, CUDA device 0): OpenWith with those.
func Open(l *Lowerer, provider runtime.Provider, libPath string) (*Session, error) {
	return OpenWith(l, runtime.TrainingSessionOptions(provider), libPath)
}

// OpenWith creates a session for l's graph with the options o (provider
// cpu or cuda: auto must be resolved by the caller, which opens all of its
// graphs on one provider) and the ONNX Runtime library at libPath ("":
// runtime.FindLibrary's search). The session is built by
// runtime.Env.NewSession, as inference sessions are, so the environment's
// overrides (runtime.ApplyEnv) apply. The Env it opens keeps ONNX Runtime
// loaded until Close.
func OpenWith(l *Lowerer, o runtime.SessionOptions, libPath string) (*Session, error) {
	if o.Provider == runtime.Auto {
		return nil, fmt.Errorf("lower: provider auto must be resolved by the caller")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	data, err := l.Model()
	if err != nil {
		return nil, err
	}
	env, err := runtime.Open(runtime.Options{Provider: o.Provider, DeviceID: o.DeviceID, LibraryPath: libPath})
	if err != nil {
		return nil, err
	}
	s := &Session{env: env, inputs: l.Inputs(), extras: l.Extras(), outputs: l.Outputs()}
	names := make([]string, 0, len(s.inputs)+len(s.extras))
	for _, in := range s.inputs {
		names = append(names, in.Name)
	}
	for _, e := range s.extras {
		names = append(names, e.Name)
	}
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
	if s.sess, err = env.NewSession(data, names, s.outputs, o); err != nil {
		s.destroyOutputs()
		env.Close()
		return nil, fmt.Errorf("training session: %w", err)
	}
	s.opts = s.sess.Options()
	return s, nil
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
func (s *Session) Provider() runtime.Provider { return s.opts.Provider }

// Options are the options the session runs with, the environment's
// overrides applied (runtime.Session.Options).
func (s *Session) Options() runtime.SessionOptions { return s.opts }

// Close releases the session and its environment reference.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Close()
	s.sess = nil
	s.destroyOutputs()
	if cerr := s.env.Close(); err == nil {
		err = cerr
	}
	return err
}
