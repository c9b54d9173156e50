package pth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
	"github.com/tgan-dev/tgan/model"
)

// loadPickle unpickles a torch.save file. Classes that are not tensors,
// storages or dicts (numpy scalars, argparse namespaces, ...) come back as
// opaque objects instead of failing the load, and panics inside gopickle
// (it panics on a few unsupported legacy layouts) become errors.
func loadPickle(path string) (obj any, err error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err // the caller names the file
		}
		return nil, err
	}
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	f.Close()
	if n == 0 {
		return nil, errors.New("empty file")
	}
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("unsupported or corrupt pickle: %v", r)
		}
	}()
	obj, err = pytorch.LoadWithUnpickler(path, func(r io.Reader) pickle.Unpickler {
		u := pickle.NewUnpickler(r)
		u.FindClass = findClass
		return u
	})
	if err != nil {
		if bytes.Equal(head[:], []byte("PK\x03\x04")) {
			// A zip that zip.OpenReader refused falls through to the
			// legacy reader, whose error would be misleading.
			return nil, fmt.Errorf("corrupt or truncated zip archive: %w", err)
		}
		return nil, fmt.Errorf("not a PyTorch checkpoint or truncated: %w", err)
	}
	return obj, nil
}

// findClass resolves the classes gopickle's pytorch package does not know.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_parameter":
		return callable(func(args ...any) (any, error) {
			if len(args) == 0 {
				return nil, errors.New("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		}), nil
	case "torch._utils._rebuild_tensor":
		return callable(func(args ...any) (any, error) {
			if len(args) != 4 {
				return nil, fmt.Errorf("_rebuild_tensor: %d arguments", len(args))
			}
			return (&pytorch.RebuildTensorV2{}).Call(args[0], args[1], args[2], args[3], false, nil)
		}), nil
	}
	return &opaqueClass{module: module, name: name}, nil
}

type callable func(args ...any) (any, error)

func (f callable) Call(args ...any) (any, error) { return f(args...) }

// opaqueClass stands for any Python class the importer does not need.
type opaqueClass struct{ module, name string }

// opaque is an instance of an opaqueClass; its state is kept but unused.
type opaque struct {
	class *opaqueClass
	args  []any
	state any
}

func (c *opaqueClass) Call(args ...any) (any, error)  { return &opaque{class: c, args: args}, nil }
func (c *opaqueClass) PyNew(args ...any) (any, error) { return &opaque{class: c, args: args}, nil }
func (o *opaque) PySetState(state any) error          { o.state = state; return nil }
func (o *opaque) String() string                      { return o.class.module + "." + o.class.name }

// entry is one key/value pair of a Python dict or OrderedDict.
type entry struct {
	key   string
	value any
}

// dictEntries returns the string-keyed entries of a dict, in file order.
func dictEntries(v any) ([]entry, bool) {
	var out []entry
	switch d := v.(type) {
	case *types.Dict:
		for _, e := range *d {
			k, ok := e.Key.(string)
			if !ok {
				return nil, false
			}
			out = append(out, entry{k, e.Value})
		}
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			k, ok := e.Key.(string)
			if !ok {
				return nil, false
			}
			out = append(out, entry{k, e.Value})
		}
	default:
		return nil, false
	}
	return out, true
}

// typeName describes a pickled value for error messages.
func typeName(v any) string {
	switch x := v.(type) {
	case *opaque:
		return x.String()
	case *types.Dict, *types.OrderedDict:
		return "dict"
	case *types.List:
		return "list"
	case *types.Tuple:
		return "tuple"
	case *pytorch.Tensor:
		return "tensor"
	case nil:
		return "None"
	case int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

// sortedKeys lists the keys of entries for messages.
func sortedKeys(es []entry) []string {
	ks := make([]string, len(es))
	for i, e := range es {
		ks[i] = e.key
	}
	sort.Strings(ks)
	return ks
}

// convert copies a PyTorch tensor into a dense row-major model.Tensor,
// following its storage offset and strides. Float64, float16 and bfloat16
// become float32 (note says so); integer tensors become int64.
func convert(t *pytorch.Tensor) (out *model.Tensor, note string, err error) {
	n := 1
	for _, d := range t.Size {
		if d < 0 {
			return nil, "", fmt.Errorf("negative size %v", t.Size)
		}
		n *= d
	}
	if len(t.Stride) != len(t.Size) {
		return nil, "", fmt.Errorf("size %v and stride %v differ in rank", t.Size, t.Stride)
	}
	var get func(i int) float64
	var geti func(i int) int64
	var slen int
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		slen = len(s.Data)
	case *pytorch.DoubleStorage:
		slen, note = len(s.Data), "float64 converted to float32"
		get = func(i int) float64 { return s.Data[i] }
	case *pytorch.HalfStorage:
		slen, note = len(s.Data), "float16 converted to float32"
		get = func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.BFloat16Storage:
		slen, note = len(s.Data), "bfloat16 converted to float32"
		get = func(i int) float64 { return float64(s.Data[i]) }
	case *pytorch.LongStorage:
		slen, geti = len(s.Data), func(i int) int64 { return s.Data[i] }
	case *pytorch.IntStorage:
		slen, geti = len(s.Data), func(i int) int64 { return int64(s.Data[i]) }
	default:
		return nil, "", fmt.Errorf("storage type %T is not supported", t.Source)
	}
	if err := checkBounds(t, n, slen); err != nil {
		return nil, "", err
	}
	out = &model.Tensor{Shape: append([]int{}, t.Size...)}
	switch {
	case geti != nil:
		out.I64 = make([]int64, n)
		visit(t, n, func(i, o int) { out.I64[i] = geti(o) })
	case get != nil:
		out.F32 = make([]float32, n)
		visit(t, n, func(i, o int) { out.F32[i] = float32(get(o)) })
	default:
		data := t.Source.(*pytorch.FloatStorage).Data
		out.F32 = make([]float32, n)
		if contiguous(t) {
			copy(out.F32, data[t.StorageOffset:t.StorageOffset+n])
		} else {
			visit(t, n, func(i, o int) { out.F32[i] = data[o] })
		}
	}
	return out, note, nil
}

// contiguous reports whether t is laid out row-major without gaps.
func contiguous(t *pytorch.Tensor) bool {
	want := 1
	for i := len(t.Size) - 1; i >= 0; i-- {
		if t.Size[i] != 1 && t.Stride[i] != want {
			return false
		}
		want *= t.Size[i]
	}
	return true
}

// checkBounds verifies that every element of t lies inside its storage.
func checkBounds(t *pytorch.Tensor, n, storageLen int) error {
	if n == 0 {
		return nil
	}
	last := t.StorageOffset
	for i, d := range t.Size {
		if t.Stride[i] < 0 {
			return fmt.Errorf("negative stride %v", t.Stride)
		}
		last += (d - 1) * t.Stride[i]
	}
	if t.StorageOffset < 0 || last >= storageLen {
		return fmt.Errorf("size %v stride %v offset %d overruns its storage of %d elements",
			t.Size, t.Stride, t.StorageOffset, storageLen)
	}
	return nil
}

// visit calls fn(i, o) for every element i in row-major order with o its
// index in the storage.
func visit(t *pytorch.Tensor, n int, fn func(i, o int)) {
	if contiguous(t) {
		for i := 0; i < n; i++ {
			fn(i, t.StorageOffset+i)
		}
		return
	}
	idx := make([]int, len(t.Size))
	for i := 0; i < n; i++ {
		o := t.StorageOffset
		for k, v := range idx {
			o += v * t.Stride[k]
		}
		fn(i, o)
		for k := len(idx) - 1; k >= 0; k-- {
			if idx[k]++; idx[k] < t.Size[k] {
				break
			}
			idx[k] = 0
		}
	}
}
