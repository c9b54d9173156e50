package lower

import (
	"github.com/tgan-dev/tgan/onnx"
)

// Small builders over onnx.Graph, in the op vocabulary the lowering uses.
// Every op here is a standard ai.onnx op (opset 17) with a float32 CUDA
// kernel in ONNX Runtime (testdata/ort_cuda_ops.txt).

func (l *Lowerer) op(name string, ins ...string) string { return l.G.Op(name, ins) }

// Add, Sub, Mul and Div broadcast numpy-style.
func (l *Lowerer) Add(a, b string) string { return l.op("Add", a, b) }
func (l *Lowerer) Sub(a, b string) string { return l.op("Sub", a, b) }
func (l *Lowerer) Mul(a, b string) string { return l.op("Mul", a, b) }
func (l *Lowerer) Div(a, b string) string { return l.op("Div", a, b) }

// Float is a float32 scalar constant.
func (l *Lowerer) Float(v float32) string { return l.G.Float(v) }

// Reshape copies-free reshape to shape (rank 0 allowed).
func (l *Lowerer) Reshape(x string, shape []int) string {
	return l.op("Reshape", x, l.G.Int64s(ints64(shape)...))
}

// Transpose permutes axes (numpy.transpose semantics).
func (l *Lowerer) Transpose(x string, perm ...int) string {
	return l.G.Op("Transpose", []string{x}, onnx.AttrInts("perm", ints64(perm)...))
}

// ReduceSum over axes, keeping them as size 1 when keep.
func (l *Lowerer) ReduceSum(x string, keep bool, axes ...int) string {
	return l.G.Op("ReduceSum", []string{x, l.G.Int64s(ints64(axes)...)}, onnx.AttrInt("keepdims", b2i(keep)))
}

// ReduceMean over axes (opset 17 takes them as an attribute).
func (l *Lowerer) ReduceMean(x string, keep bool, axes ...int) string {
	return l.G.Op("ReduceMean", []string{x}, onnx.AttrInts("axes", ints64(axes)...), onnx.AttrInt("keepdims", b2i(keep)))
}

// Gather along axis with a constant int64 index tensor of shape.
func (l *Lowerer) Gather(x string, axis int, shape []int, index []int64) string {
	idx := l.G.InitializerInt64(l.fresh("idx"), shape, index)
	return l.G.Op("Gather", []string{x, idx}, onnx.AttrInt("axis", int64(axis)))
}

// Expand broadcasts x to shape.
func (l *Lowerer) Expand(x string, shape []int) string {
	return l.op("Expand", x, l.G.Int64s(ints64(shape)...))
}

// Zeros is a float32 constant of zeros.
func (l *Lowerer) Zeros(shape []int) string {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return l.G.Initializer(l.fresh("zeros"), shape, make([]float32, n))
}

func (l *Lowerer) fresh(kind string) string {
	l.counter++
	return kind + "." + itoa(l.counter)
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// suffixOf reports whether small equals the trailing axes of big (numpy
// broadcasting of a block repeated over big's leading axes).
func suffixOf(small, big []int) bool {
	if len(small) > len(big) {
		return false
	}
	off := len(big) - len(small)
	for i, d := range small {
		if big[off+i] != d {
			return false
		}
	}
	return true
}

func total(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
