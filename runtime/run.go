package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
)

// Run runs a model with one float32 input and one float32 output. input holds
// the tensor of shape inShape in row-major order; inShape must match the
// model's input where the model fixes a dimension, and its first axis is
// usually the batch. It returns a new slice with the output and its shape.
//
// The session and the input and output tensors are reused across calls with
// the same input shape; a new shape (a different batch size) gets its own
// tensors, and up to a few shapes are kept.
//
// A generator with a NoiseInput ([batch, T] attention noise) gets it drawn
// by DrawNoise from the model's noise seed (SetNoiseSeed) and each item's
// input; RunNoise takes it from the caller instead.
func (m *Model) Run(input []float32, inShape []int64) ([]float32, []int64, error) {
	out, shape, err := m.runWith(input, inShape, nil, false)
	if err != nil {
		return nil, nil, fmt.Errorf("runtime: run %s: %w", m.path, err)
	}
	return out, shape, nil
}

func (m *Model) runWith(input []float32, inShape []int64, noise []float32, given bool) ([]float32, []int64, error) {
	if err := m.checkSignature(); err != nil {
		return nil, nil, err
	}
	if err := m.checkInput(input, inShape); err != nil {
		return nil, nil, err
	}
	if given {
		if err := m.checkNoise(noise, inShape[0]); err != nil {
			return nil, nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return nil, nil, errors.New("model is closed")
	}
	b, err := m.tensorsFor(inShape)
	if err != nil {
		return nil, nil, err
	}
	copy(b.in.GetData(), input)
	ins := []ort.Value{b.in}
	if b.noise != nil {
		if !given {
			noise = DrawNoise(m.noiseSeed, input, len(input)/int(inShape[0]), m.NoiseSize())
		}
		copy(b.noise.GetData(), noise)
		ins = append(ins, b.noise)
	}
	outs := []ort.Value{nil}
	if b.out != nil {
		outs[0] = b.out
	}
	err = m.sess.Run(ins, outs)
	if err != nil {
		if b.out == nil && outs[0] != nil {
			outs[0].Destroy()
		}
		return nil, nil, err
	}
	if b.out == nil {
		t, ok := outs[0].(*ort.Tensor[float32])
		if !ok {
			outs[0].Destroy()
			return nil, nil, fmt.Errorf("output %s is not a float32 tensor", m.outputs[0].Name)
		}
		b.out = t // keep it: later runs of this shape write into it
	}
	return slices.Clone(b.out.GetData()), slices.Clone([]int64(b.out.GetShape())), nil
}

// checkSignature reports whether Run can handle the model at all: one
// input (plus a NoiseInput) and one output.
func (m *Model) checkSignature() error {
	if (len(m.inputs) != 1 && m.NoiseSize() == 0) || len(m.outputs) != 1 {
		return fmt.Errorf("Run needs one input and one output; model has %d inputs %v and %d outputs %v",
			len(m.inputs), names(m.inputs), len(m.outputs), names(m.outputs))
	}
	if !m.inputs[0].float {
		return fmt.Errorf("input %s has type %s; Run needs float32", m.inputs[0].Name, m.inputs[0].DataType)
	}
	if !m.outputs[0].float {
		return fmt.Errorf("output %s has type %s; Run needs float32", m.outputs[0].Name, m.outputs[0].DataType)
	}
	return nil
}

func (m *Model) checkInput(input []float32, inShape []int64) error {
	want := m.inputs[0]
	if len(inShape) != len(want.Shape) {
		return fmt.Errorf("input %s: shape %v has rank %d, model wants %v", want.Name, inShape, len(inShape), want.Shape)
	}
	n := int64(1)
	for i, d := range inShape {
		if d <= 0 {
			return fmt.Errorf("input %s: shape %v has a non-positive dimension", want.Name, inShape)
		}
		if w := want.Shape[i]; w >= 0 && w != d {
			return fmt.Errorf("input %s: shape %v does not match model shape %v at axis %d", want.Name, inShape, want.Shape, i)
		}
		n *= d
	}
	if int64(len(input)) != n {
		return fmt.Errorf("input %s: %d values for shape %v, want %d", want.Name, len(input), inShape, n)
	}
	return nil
}

// tensorsFor returns the cached tensors for inShape, creating them when the
// shape is new. The output tensor is preallocated when the model's output
// shape is known once the batch axis is filled in.
func (m *Model) tensorsFor(inShape []int64) (*ioTensors, error) {
	key := shapeKey(inShape)
	if b, ok := m.buffers[key]; ok {
		return b, nil
	}
	if len(m.buffers) >= maxCachedShapes {
		m.dropBuffers()
	}
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(inShape...))
	if err != nil {
		return nil, fmt.Errorf("allocate input %v: %w", inShape, err)
	}
	b := &ioTensors{in: in}
	if t := m.NoiseSize(); t > 0 {
		if b.noise, err = ort.NewEmptyTensor[float32](ort.NewShape(inShape[0], int64(t))); err != nil {
			in.Destroy()
			return nil, fmt.Errorf("allocate input %s [%d %d]: %w", NoiseInput, inShape[0], t, err)
		}
	}
	if outShape, ok := m.knownOutputShape(inShape[0]); ok {
		if b.out, err = ort.NewEmptyTensor[float32](ort.NewShape(outShape...)); err != nil {
			b.destroy()
			return nil, fmt.Errorf("allocate output %v: %w", outShape, err)
		}
	}
	m.buffers[key] = b
	return b, nil
}

// shapeKey names a shape in the tensor cache without fmt's allocations.
func shapeKey(shape []int64) string {
	buf := make([]byte, 0, 8*len(shape))
	for _, d := range shape {
		buf = strconv.AppendInt(buf, d, 10)
		buf = append(buf, ',')
	}
	return string(buf)
}

// knownOutputShape fills a dynamic first output axis with batch and reports
// whether every dimension is then known.
func (m *Model) knownOutputShape(batch int64) ([]int64, bool) {
	s := slices.Clone(m.outputs[0].Shape)
	if len(s) > 0 && s[0] < 0 {
		s[0] = batch
	}
	for _, d := range s {
		if d < 0 {
			return nil, false
		}
	}
	return s, true
}

// SampleSize returns the number of input values per batch item: the product
// of the input's non-batch dimensions. It fails when one of them is dynamic.
func (m *Model) SampleSize() (int, error) {
	if err := m.checkSignature(); err != nil {
		return 0, fmt.Errorf("runtime: %s: %w", m.path, err)
	}
	n := 1
	for _, d := range m.inputs[0].Shape[1:] {
		if d < 0 {
			return 0, fmt.Errorf("runtime: %s: input %s shape %v has a dynamic non-batch axis",
				m.path, m.inputs[0].Name, m.inputs[0].Shape)
		}
		n *= int(d)
	}
	return n, nil
}

// RunBatched runs n items through the model in batches of at most batch.
// For each batch, fill writes the inputs of items [start, start+count) into
// in (len count*SampleSize(), row-major, reused between batches), then emit
// receives the batch's output (a new slice it may keep) and its shape. The
// last batch may be smaller. ctx is checked between batches.
func (m *Model) RunBatched(ctx context.Context, n, batch int,
	fill func(in []float32, start, count int) error,
	emit func(out []float32, outShape []int64, start int) error) error {
	if n < 0 || batch <= 0 {
		return fmt.Errorf("runtime: RunBatched: n=%d batch=%d (want n >= 0, batch > 0)", n, batch)
	}
	per, err := m.SampleSize()
	if err != nil {
		return err
	}
	shape := slices.Clone(m.inputs[0].Shape)
	buf := make([]float32, min(n, batch)*per)
	for start := 0; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		count := min(batch, n-start)
		in := buf[:count*per]
		if err := fill(in, start, count); err != nil {
			return fmt.Errorf("runtime: fill items %d..%d: %w", start, start+count, err)
		}
		shape[0] = int64(count)
		out, outShape, err := m.Run(in, shape)
		if err != nil {
			return err
		}
		if err := emit(out, outShape, start); err != nil {
			return err
		}
	}
	return nil
}
