package lower

import (
	"fmt"
	"time"

	"github.com/tgan-dev/tgan/runtime"
	ort "github.com/yalue/onnxruntime_go"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Session runs a lowered graph with ONNX Runtime. The graph's inputs that
// are Gorgonia nodes with tensor values are wrapped once, at Open, as
// ONNX Runtime values over the nodes' own memory (the trainer writes batch,
// z and noise into that memory in place; weights and optimizer state stay
// there); scalar nodes and Extra fill functions are wrapped at each run.
// Outputs go into Go buffers: the session's own, or, for the outputs named
// in Bind, the caller's (gradient buffers, or the memory of an input for an
// update in place).
type Session struct {
	env     *runtime.Env
	sess    *runtime.Session
	inputs  []Input
	extras  []Extra
	outputs []string
	inVals  []ort.Value // per input: wrapped once (nil: a scalar, wrapped per run)
	outBufs [][]float32 // Go memory ONNX Runtime writes the outputs into
	outVals []ort.Value // tensors wrapping outBufs
	bound   []bool      // per output: a caller's buffer (not fetched by Go)
	state   map[*G.Node]bool
	opts    runtime.SessionOptions
	// OpenOn's sessions: the state in dev's tensors, run through an
	// IoBinding (device.go).
	dev     *Device
	bsess   *runtime.BoundSession
	hostIn  []*runtime.Tensor // per input: over Go memory, rebound at each run (nil: none)
	hostOut []*runtime.Tensor // over outBufs (nil: a state tensor)
	// IOTime accumulates the time Run spends outside ONNX Runtime's own
	// run: wrapping the per-run inputs and returning freed C memory.
	IOTime time.Duration
	// Moved lists what the last run moved between Go and ONNX Runtime
	// (Transfer).
	Moved []Transfer
}

// Transfer is one tensor that crosses between Go and ONNX Runtime in a
// run: an input that Go writes between runs (the batch, z, noise,
// augmentation draws, scalars: every input but the state nodes of
// Lowerer.MarkState), or an output that Go reads (not bound to a buffer of
// the caller's). On the CPU provider the bytes are not copied, but they
// are what a device would have to move.
type Transfer struct {
	Name  string
	Bytes int
	Out   bool
}

// Bind names caller-owned buffers for outputs: ONNX Runtime writes the
// output of that name into the buffer at every run. A buffer may be the
// memory of one of the graph's own inputs (an update in place): ONNX
// Runtime then overwrites the input when it produces the output, which is
// safe when every node that reads the input is an ancestor of the output
// node (the trainer's update graphs are built so).
type Bind map[string][]float32

// Open creates a session for l's graph on provider (cpu or cuda; cuda never
// falls back to CPU) with the training defaults
// (runtime.TrainingSessionOptions, CUDA device 0): OpenWith with those.
func Open(l *Lowerer, provider runtime.Provider, libPath string) (*Session, error) {
	return OpenWith(l, runtime.TrainingSessionOptions(provider), libPath, nil)
}

// OpenWith creates a session for l's graph with the options o (provider
// cpu or cuda: auto must be resolved by the caller, which opens all of its
// graphs on one provider) and the ONNX Runtime library at libPath ("":
// runtime.FindLibrary's search). The session is built by
// runtime.Env.NewSession, as inference sessions are, so the environment's
// overrides (runtime.ApplyEnv) apply. The Env it opens keeps ONNX Runtime
// loaded until Close.
func OpenWith(l *Lowerer, o runtime.SessionOptions, libPath string, bind Bind) (*Session, error) {
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
	s := &Session{env: env, inputs: l.Inputs(), extras: l.Extras(), outputs: l.Outputs(), state: l.state}
	names := make([]string, 0, len(s.inputs)+len(s.extras))
	for _, in := range s.inputs {
		names = append(names, in.Name)
	}
	for _, e := range s.extras {
		names = append(names, e.Name)
	}
	if err := s.wrap(l.outShape, bind); err != nil {
		s.destroyValues()
		env.Close()
		return nil, err
	}
	if s.sess, err = env.NewSession(data, names, s.outputs, o); err != nil {
		s.destroyValues()
		env.Close()
		return nil, fmt.Errorf("training session: %w", err)
	}
	s.opts = s.sess.Options()
	return s, nil
}

// wrap creates the values that live as long as the session: the tensor
// inputs over their nodes' memory, and the outputs over bound or own
// buffers.
func (s *Session) wrap(outShapes [][]int, bind Bind) error {
	for _, in := range s.inputs {
		var v ort.Value
		if _, ok := in.Node.Value().(*tensor.Dense); ok && len(in.Node.Shape()) > 0 {
			data := NodeData(in.Node)
			if len(data) != total(in.Shape) {
				return fmt.Errorf("input %s has %d values, want %d", in.Name, len(data), total(in.Shape))
			}
			t, err := ort.NewTensor(ort.NewShape(dims64(in.Shape)...), data)
			if err != nil {
				return fmt.Errorf("input %s: %w", in.Name, err)
			}
			v = t
		}
		s.inVals = append(s.inVals, v)
	}
	for i, shape := range outShapes {
		buf, isBound := bind[s.outputs[i]]
		if !isBound {
			buf = make([]float32, total(shape))
		} else if len(buf) != total(shape) {
			return fmt.Errorf("output %s: bound buffer has %d values, want %d", s.outputs[i], len(buf), total(shape))
		}
		t, err := ort.NewTensor(ort.NewShape(dims64(shape)...), buf)
		if err != nil {
			return fmt.Errorf("output tensor: %w", err)
		}
		s.outBufs, s.outVals, s.bound = append(s.outBufs, buf), append(s.outVals, t), append(s.bound, isBound)
	}
	return nil
}

// Run executes the graph once and returns the outputs in Outputs order.
// ONNX Runtime writes them straight into Go buffers (the bound ones and
// the session's own) that the next Run overwrites: copy what must outlive
// it.
func (s *Session) Run() ([][]float32, error) {
	if s.bsess != nil {
		return s.runBound()
	}
	start := time.Now()
	var inORT time.Duration
	defer func() { s.IOTime += time.Since(start) - inORT }()
	vals := make([]ort.Value, 0, len(s.inputs)+len(s.extras))
	var perRun []ort.Value
	defer func() {
		for _, v := range perRun {
			v.Destroy()
		}
	}()
	s.Moved = s.Moved[:0]
	add := func(name string, shape []int, data []float32) error {
		if len(data) != total(shape) {
			return fmt.Errorf("input %s has %d values, want %d", name, len(data), total(shape))
		}
		t, err := ort.NewTensor(ort.NewShape(dims64(shape)...), data)
		if err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		vals, perRun = append(vals, t), append(perRun, t)
		s.Moved = append(s.Moved, Transfer{Name: name, Bytes: 4 * len(data)})
		return nil
	}
	for i, in := range s.inputs {
		if v := s.inVals[i]; v != nil {
			vals = append(vals, v)
			if !s.state[in.Node] {
				s.Moved = append(s.Moved, Transfer{Name: in.Name, Bytes: 4 * total(in.Shape)})
			}
			continue
		}
		if err := add(in.Name, in.Shape, NodeData(in.Node)); err != nil {
			return nil, err
		}
	}
	for _, e := range s.extras {
		if err := add(e.Name, e.Shape, e.Fill()); err != nil {
			return nil, err
		}
	}
	for i, name := range s.outputs {
		if !s.bound[i] {
			s.Moved = append(s.Moved, Transfer{Name: name, Bytes: 4 * len(s.outBufs[i]), Out: true})
		}
	}
	runStart := time.Now()
	err := s.sess.Run(vals, s.outVals)
	inORT = time.Since(runStart)
	afterRun() // counted in IOTime
	if err != nil {
		return nil, fmt.Errorf("onnx runtime: %w", err)
	}
	return s.outBufs, nil
}

func (s *Session) destroyValues() {
	for _, v := range s.outVals {
		v.Destroy()
	}
	for _, v := range s.inVals {
		if v != nil {
			v.Destroy()
		}
	}
	s.outVals, s.outBufs, s.inVals = nil, nil, nil
}

// Provider is the execution provider the session runs on.
func (s *Session) Provider() runtime.Provider { return s.opts.Provider }

// Options are the options the session runs with, the environment's
// overrides applied (runtime.Session.Options).
func (s *Session) Options() runtime.SessionOptions { return s.opts }

// Close releases the session and its environment reference.
func (s *Session) Close() error {
	if s.bsess != nil || s.dev != nil {
		return s.closeBound()
	}
	if s.sess == nil {
		return nil
	}
	err := s.sess.Close()
	s.sess = nil
	s.destroyValues()
	if cerr := s.env.Close(); err == nil {
		err = cerr
	}
	return err
}
