package runtime

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// TensorInfo describes one model input or output.
type TensorInfo struct {
	// Name is the graph's name for the tensor, for example "z" or "image".
	Name string
	// Shape has -1 for a dynamic axis, such as the batch axis.
	Shape []int64
	// DataType is the element type in Go terms, for example "float32",
	// "float16" or "int64"; for a non-tensor value, its kind ("sequence").
	DataType string
	float    bool
}

// maxCachedShapes bounds the input shapes whose tensors a Model keeps.
const maxCachedShapes = 4

// Model is an open .onnx file: one ONNX Runtime session plus the tensors it
// reuses between runs. Its methods are safe for concurrent use; runs are
// serialised.
type Model struct {
	env      *Env
	path     string
	provider Provider
	fallback string
	opts     SessionOptions // as the session applied them
	inputs   []TensorInfo
	outputs  []TensorInfo
	meta     map[string]string

	mu        sync.Mutex
	sess      *Session
	buffers   map[string]*ioTensors
	noiseSeed int64 // seeds the NoiseInput that Run draws
}

// ioTensors are the preallocated tensors for one input shape. out is nil
// until the first run when the output shape cannot be computed in advance.
type ioTensors struct {
	in    *ort.Tensor[float32]
	noise *ort.Tensor[float32] // the NoiseInput, for a model that has one
	out   *ort.Tensor[float32]
}

func (b *ioTensors) destroy() {
	for _, t := range []*ort.Tensor[float32]{b.in, b.noise, b.out} {
		if t != nil {
			t.Destroy()
		}
	}
}

// OpenModel opens the .onnx file at path with e's session options
// ([Options.SessionOptions]: the inference defaults on e's provider, device
// and threads) and reads its inputs, outputs and custom metadata.
func (e *Env) OpenModel(path string) (*Model, error) {
	return e.OpenModelWith(path, e.opts.SessionOptions())
}

// OpenModelWith is OpenModel with explicit session options.
func (e *Env) OpenModelWith(path string, o SessionOptions) (*Model, error) {
	m, err := e.openModel(path, o)
	if err != nil {
		return nil, fmt.Errorf("runtime: open model %s: %w", path, err)
	}
	return m, nil
}

func (e *Env) openModel(path string, o SessionOptions) (*Model, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	ins, outs, err := readInfo(path)
	if err != nil {
		return nil, err
	}
	m := &Model{env: e, path: path, buffers: map[string]*ioTensors{}}
	m.inputs, m.outputs = convertInfo(ins), convertInfo(outs)
	if m.sess, err = e.OpenSession(path, names(m.inputs), names(m.outputs), o); err != nil {
		return nil, err
	}
	m.provider, m.fallback, m.opts, m.meta = m.sess.Provider(), m.sess.FallbackReason(), m.sess.Options(), m.sess.Metadata()
	if err := e.track(m); err != nil {
		m.sess.Close()
		return nil, err
	}
	return m, nil
}

// readInfo reads input and output descriptions with a cheap, unoptimised
// CPU session (ONNX Runtime needs a session to read them).
func readInfo(path string) ([]ort.InputOutputInfo, []ort.InputOutputInfo, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, err
	}
	defer so.Destroy()
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
		return nil, nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithOptions(path, so)
	if err != nil {
		return nil, nil, fmt.Errorf("not a loadable ONNX model: %w", err)
	}
	return ins, outs, nil
}

func convertInfo(infos []ort.InputOutputInfo) []TensorInfo {
	out := make([]TensorInfo, len(infos))
	for i, in := range infos {
		out[i] = TensorInfo{
			Name:     in.Name,
			Shape:    slices.Clone([]int64(in.Dimensions)),
			DataType: dataTypeName(in),
			float:    in.OrtValueType == ort.ONNXTypeTensor && in.DataType == ort.TensorElementDataTypeFloat,
		}
	}
	return out
}

func dataTypeName(in ort.InputOutputInfo) string {
	if in.OrtValueType != ort.ONNXTypeTensor {
		return strings.ToLower(strings.TrimPrefix(in.OrtValueType.String(), "ONNX_TYPE_"))
	}
	switch in.DataType {
	case ort.TensorElementDataTypeFloat:
		return "float32"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	}
	return strings.ToLower(strings.TrimPrefix(in.DataType.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_"))
}

func names(infos []TensorInfo) []string {
	out := make([]string, len(infos))
	for i, t := range infos {
		out[i] = t.Name
	}
	return out
}

func readMetadata(s *ort.DynamicAdvancedSession) (map[string]string, error) {
	md, err := s.GetModelMetadata()
	if err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	defer md.Destroy()
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, fmt.Errorf("read metadata keys: %w", err)
	}
	meta := make(map[string]string, len(keys))
	for _, k := range keys {
		v, ok, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, fmt.Errorf("read metadata %q: %w", k, err)
		}
		if ok {
			meta[k] = v
		}
	}
	return meta, nil
}

// Path returns the file the model was opened from.
func (m *Model) Path() string { return m.path }

// Provider returns the execution provider the session runs on: CPU or CUDA
// (never Auto).
func (m *Model) Provider() Provider { return m.provider }

// SessionOptions returns the options the model's session was created
// with (see [Session.Options]).
func (m *Model) SessionOptions() SessionOptions { return m.opts }

// Fused is the target ("cpu" or "cuda") of the fused form the session runs
// (metadata [KeyFused]), or "" when the file runs as it is.
func (m *Model) Fused() string { return m.meta[KeyFused] }

// FallbackReason is empty unless the Env asked for Auto and CUDA could not be
// enabled; then it says why, and Provider returns CPU.
func (m *Model) FallbackReason() string { return m.fallback }

// Inputs describes the model's inputs, in graph order.
func (m *Model) Inputs() []TensorInfo { return cloneInfo(m.inputs) }

// Outputs describes the model's outputs, in graph order.
func (m *Model) Outputs() []TensorInfo { return cloneInfo(m.outputs) }

func cloneInfo(infos []TensorInfo) []TensorInfo {
	out := slices.Clone(infos)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Metadata returns a copy of the model's custom metadata (ONNX
// metadata_props), for example "tgan.config".
func (m *Model) Metadata() map[string]string {
	out := make(map[string]string, len(m.meta))
	for k, v := range m.meta {
		out[k] = v
	}
	return out
}

// MetadataValue returns one metadata_props value and whether it is present.
func (m *Model) MetadataValue(key string) (string, bool) {
	v, ok := m.meta[key]
	return v, ok
}

// Close releases the session and its tensors. Calling Close twice is harmless.
func (m *Model) Close() error {
	m.env.untrack(m)
	return m.close()
}

func (m *Model) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return nil
	}
	m.dropBuffers()
	err := m.sess.Close()
	m.sess = nil
	if err != nil {
		return fmt.Errorf("runtime: close model %s: %w", m.path, err)
	}
	return nil
}

func (m *Model) dropBuffers() {
	for k, b := range m.buffers {
		b.destroy()
		delete(m.buffers, k)
	}
}
