package lower

import (
	"fmt"
	"time"

	"github.com/tgan-dev/tgan/runtime"
	"gorgonia.org/tensor"
)

// OpenOn creates a session for l's graph whose state lives on d: the
// inputs marked as state (Lowerer.MarkState) and the outputs named in bind
// are d's tensors for those Go buffers, bound once and written in place;
// the other tensor inputs and outputs stay in Go memory, as with OpenWith.
// The session runs with d's options, through an IoBinding
// (runtime.BoundSession). Close it before d.
func OpenOn(l *Lowerer, d *Device, bind Bind) (*Session, error) {
	data, err := l.Model()
	if err != nil {
		return nil, err
	}
	s := &Session{inputs: l.Inputs(), extras: l.Extras(), outputs: l.Outputs(), state: l.state, dev: d, opts: d.Options()}
	if s.bsess, err = d.dev.NewSession(data); err != nil {
		return nil, fmt.Errorf("training session: %w", err)
	}
	if err := s.bindInputs(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.bindOutputs(l.outShape, bind); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// isTensor is true for an input wrapped once (a tensor value of rank 1 or
// more); the others are wrapped at each run.
func isTensor(in Input) bool {
	_, ok := in.Node.Value().(*tensor.Dense)
	return ok && len(in.Node.Shape()) > 0
}

// bindInputs binds the state inputs to their device tensors, once, and
// wraps the other tensor inputs over their nodes' Go memory (bound at
// each run: on CUDA, binding a host value is what copies it to the
// device).
func (s *Session) bindInputs() error {
	for _, in := range s.inputs {
		var host *runtime.Tensor
		if isTensor(in) {
			data := NodeData(in.Node)
			if len(data) != total(in.Shape) {
				return fmt.Errorf("input %s has %d values, want %d", in.Name, len(data), total(in.Shape))
			}
			var err error
			if s.state[in.Node] {
				err = s.bindState(in.Name, data, in.Shape, s.bsess.BindInput)
			} else {
				host, err = s.dev.dev.HostTensor(in.Shape, data)
			}
			if err != nil {
				return fmt.Errorf("input %s: %w", in.Name, err)
			}
		}
		s.hostIn = append(s.hostIn, host)
	}
	return nil
}

// bindState binds name to buf's device tensor.
func (s *Session) bindState(name string, buf []float32, shape []int, bind func(string, *runtime.Tensor) error) error {
	t, err := s.dev.tensor(buf, shape)
	if err != nil {
		return err
	}
	return bind(name, t)
}

// bindOutputs binds the outputs in bind to their buffers' device tensors
// and the others to Go buffers of the session's own, once.
func (s *Session) bindOutputs(outShapes [][]int, bind Bind) error {
	for i, shape := range outShapes {
		name := s.outputs[i]
		buf, isBound := bind[name]
		var host *runtime.Tensor
		var err error
		if isBound {
			err = s.bindState(name, buf, shape, s.bsess.BindOutput)
		} else {
			buf = make([]float32, total(shape))
			if host, err = s.dev.dev.HostTensor(shape, buf); err == nil {
				err = s.bsess.BindOutput(name, host)
			}
		}
		if err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
		s.outBufs, s.bound, s.hostOut = append(s.outBufs, buf), append(s.bound, isBound), append(s.hostOut, host)
	}
	return nil
}

// runBound is Run for OpenOn's sessions: it binds what Go wrote since the
// last run (the Go-memory inputs, the scalars and the Extra fills), runs,
// and waits for the outputs. Moved counts what Run counts.
func (s *Session) runBound() ([][]float32, error) {
	start := time.Now()
	var inORT time.Duration
	defer func() { s.IOTime += time.Since(start) - inORT }()
	var perRun []*runtime.Tensor
	defer func() {
		for _, t := range perRun {
			t.Close()
		}
	}()
	s.Moved = s.Moved[:0]
	bindHost := func(name string, shape []int, data []float32) error {
		if len(data) != total(shape) {
			return fmt.Errorf("input %s has %d values, want %d", name, len(data), total(shape))
		}
		t, err := s.dev.dev.HostTensor(shape, data)
		if err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		perRun = append(perRun, t)
		s.Moved = append(s.Moved, Transfer{Name: name, Bytes: 4 * len(data)})
		return s.bsess.BindInput(name, t)
	}
	for i, in := range s.inputs {
		if err := s.bindInput(i, in, bindHost); err != nil {
			return nil, err
		}
	}
	for _, e := range s.extras {
		if err := bindHost(e.Name, e.Shape, e.Fill()); err != nil {
			return nil, err
		}
	}
	for i, name := range s.outputs {
		if !s.bound[i] {
			s.Moved = append(s.Moved, Transfer{Name: name, Bytes: 4 * len(s.outBufs[i]), Out: true})
		}
	}
	runStart := time.Now()
	s.dev.dirty = true
	err := s.bsess.Run()
	inORT = time.Since(runStart)
	afterRun() // counted in IOTime
	if err != nil {
		return nil, fmt.Errorf("onnx runtime: %w", err)
	}
	return s.outBufs, nil
}

// bindInput rebinds input i for the next run: its Go-memory tensor, or a
// per-run one over the node's value (a scalar); a state input stays bound.
func (s *Session) bindInput(i int, in Input, bindHost func(string, []int, []float32) error) error {
	if h := s.hostIn[i]; h != nil {
		s.Moved = append(s.Moved, Transfer{Name: in.Name, Bytes: 4 * h.Len()})
		return s.bsess.BindInput(in.Name, h)
	}
	if isTensor(in) {
		return nil // state: bound once, on the device
	}
	return bindHost(in.Name, in.Shape, NodeData(in.Node))
}

// closeBound releases an OpenOn session (its Go-memory tensors; the state
// stays on the Device).
func (s *Session) closeBound() error {
	var err error
	if s.bsess != nil {
		err = s.bsess.Close()
		s.bsess = nil
	}
	for _, t := range append(s.hostIn, s.hostOut...) {
		if t != nil {
			t.Close()
		}
	}
	s.hostIn, s.hostOut, s.outBufs, s.dev = nil, nil, nil, nil
	return err
}
