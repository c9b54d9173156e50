package runtime

import (
	"errors"
	"fmt"
	"slices"

	ort "github.com/yalue/onnxruntime_go"
)

// Output is one output tensor of [Model.RunAll].
type Output struct {
	// Name is the graph's name for the output, for example "pool".
	Name string
	// Data holds the values in row-major order (a new slice).
	Data []float32
	// Shape is the tensor's shape, for example [batch, 2048].
	Shape []int64
}

// RunAll runs a model with one float32 input and any number of float32
// outputs, such as a feature network with pooled features and logits. It
// returns every output in graph order (see [Model.Outputs]); [OutputByName]
// picks one. input and inShape follow the rules of [Model.Run].
//
// Unlike Run, RunAll keeps no tensors between calls: ONNX Runtime allocates
// the outputs on each run, which costs little next to a large network.
func (m *Model) RunAll(input []float32, inShape []int64) ([]Output, error) {
	outs, err := m.runAll(input, inShape)
	if err != nil {
		return nil, fmt.Errorf("runtime: run %s: %w", m.path, err)
	}
	return outs, nil
}

func (m *Model) runAll(input []float32, inShape []int64) ([]Output, error) {
	if err := m.checkMultiSignature(); err != nil {
		return nil, err
	}
	if err := m.checkInput(input, inShape); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return nil, errors.New("model is closed")
	}
	// The tensor aliases input; ONNX Runtime only reads it.
	in, err := ort.NewTensor(ort.NewShape(inShape...), input)
	if err != nil {
		return nil, fmt.Errorf("allocate input %v: %w", inShape, err)
	}
	defer in.Destroy()
	vals := make([]ort.Value, len(m.outputs))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	err = m.sess.Run([]ort.Value{in}, vals)
	if err != nil {
		return nil, err
	}
	outs := make([]Output, len(vals))
	for i, v := range vals {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("output %s is not a float32 tensor", m.outputs[i].Name)
		}
		outs[i] = Output{
			Name:  m.outputs[i].Name,
			Data:  slices.Clone(t.GetData()),
			Shape: slices.Clone([]int64(t.GetShape())),
		}
	}
	return outs, nil
}

// checkMultiSignature reports whether RunAll can handle the model: one
// float32 input and float32 outputs only.
func (m *Model) checkMultiSignature() error {
	if len(m.inputs) != 1 || len(m.outputs) == 0 {
		return fmt.Errorf("RunAll needs one input and at least one output; model has %d inputs %v and %d outputs %v",
			len(m.inputs), names(m.inputs), len(m.outputs), names(m.outputs))
	}
	if !m.inputs[0].float {
		return fmt.Errorf("input %s has type %s; RunAll needs float32", m.inputs[0].Name, m.inputs[0].DataType)
	}
	for _, o := range m.outputs {
		if !o.float {
			return fmt.Errorf("output %s has type %s; RunAll needs float32", o.Name, o.DataType)
		}
	}
	return nil
}

// OutputByName returns the output called name, or an error that lists the
// names present.
func OutputByName(outs []Output, name string) (Output, error) {
	for _, o := range outs {
		if o.Name == name {
			return o, nil
		}
	}
	have := make([]string, len(outs))
	for i, o := range outs {
		have[i] = o.Name
	}
	return Output{}, fmt.Errorf("runtime: no output %q (the model has %v)", name, have)
}
