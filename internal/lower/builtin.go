package lower

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/tgan-dev/tgan/onnx"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// builtinOp lowers the Gorgonia ops that the trainer's graphs use: element
// arithmetic (from G.Grad, the losses and the penalty's norm), unary maths, sums and
// the size/repeat/reshape nodes of Mean and of Sum's derivative.
func (l *Lowerer) builtinOp(n *G.Node, kids G.Nodes, ins []string) (string, bool, error) {
	op := n.Op()
	t := reflect.TypeOf(op)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() != "gorgonia.org/gorgonia" {
		return "", false, nil
	}
	out := []int(n.Shape())
	f := &fields{op: op}
	switch t.Name() {
	case "constantScalar":
		v, ok := n.Value().(*G.F32)
		if !ok {
			return "", false, fmt.Errorf("lower: constant %s is %T, want float32", n.Name(), n.Value())
		}
		return l.Float(float32(*v)), true, nil
	case "elemBinOp":
		sym := strings.Fields(op.String())[0]
		ops := map[string]string{"+": "Add", "-": "Sub", "⊙": "Mul", "÷": "Div"}
		name, ok := ops[sym]
		if !ok {
			return "", false, fmt.Errorf("lower: no ONNX lowering for element op %q", sym)
		}
		return l.op(name, ins[0], ins[1]), true, nil
	case "elemUnaryOp":
		switch s := op.String(); s {
		case "neg":
			return l.op("Neg", ins[0]), true, nil
		case "sqrt":
			return l.op("Sqrt", ins[0]), true, nil
		case "square":
			return l.Mul(ins[0], ins[0]), true, nil
		case "exp":
			return l.op("Exp", ins[0]), true, nil
		case "ln":
			return l.op("Log", ins[0]), true, nil
		case "abs": // the hinge loss's relu; |x| = 2 relu(x) - x (Relu has a CUDA kernel, Abs may not)
			return l.Sub(l.Mul(l.Float(2), l.op("Relu", ins[0])), ins[0]), true, nil
		case "sign": // Abs's derivative: (x > 0) - (-x > 0)
			return l.Sub(l.positive(ins[0]), l.positive(l.op("Neg", ins[0]))), true, nil
		case "softplus": // the standard (BCE) loss
			return l.op("Softplus", ins[0]), true, nil
		case "sigmoid": // Softplus's derivative
			return l.op("Sigmoid", ins[0]), true, nil
		default:
			return "", false, fmt.Errorf("lower: no ONNX lowering for unary op %q", s)
		}
	case "sumOp":
		along := f.ints("along")
		if f.err != nil {
			return "", false, f.err
		}
		if len(kids[0].Shape()) == 0 {
			return l.op("Identity", ins[0]), true, nil
		}
		return l.Reshape(l.ReduceSum(ins[0], false, along...), out), true, nil
	case "sizeOp":
		size := f.int("val")
		if size == 0 {
			axis, s := f.int("axis"), kids[0].Shape()
			size = 1
			if axis < len(s) {
				size = s[axis]
			}
		}
		return l.Float(float32(size)), f.err == nil, f.err
	case "repeatOp":
		return l.repeat(ins[0], kids[0].Shape(), out, f.int("along"))
	case "reshapeOp":
		return l.Reshape(ins[0], out), true, nil
	}
	return "", false, fmt.Errorf("lower: no ONNX lowering for Gorgonia op %s (%T)", op, op)
}

// repeat lowers Gorgonia's Repeat of a size-1 axis (Sum's derivative) as
// an Expand; repeating a longer axis does not occur in tgan's graphs.
func (l *Lowerer) repeat(x string, in tensor.Shape, out []int, along int) (string, bool, error) {
	if along >= len(out) {
		return "", false, fmt.Errorf("lower: repeat along axis %d of %v", along, out)
	}
	src := append([]int(nil), out...)
	src[along] = 1
	if total(src) != in.TotalSize() {
		return "", false, fmt.Errorf("lower: repeat of %v to %v repeats a longer axis (not supported)", in, out)
	}
	return l.Expand(l.Reshape(x, src), out), true, nil
}

// Gorgonia exports no accessors for the parameters of its own ops (Sum's
// axes, SizeOf's axis, Repeat's axis; only String, whose format is less
// stable still), so builtinOp reads them by reflection on Gorgonia's
// unexported fields. A renamed field gives a lowering error naming it; the
// package tests lower every such op of the training graphs. (gmodel's ops
// describe themselves instead: gmodel.Described.)

// opField returns the named field of a Gorgonia op (a struct or a pointer
// to one).
func opField(op G.Op, name string) (reflect.Value, error) {
	v := reflect.ValueOf(op)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	f := v.FieldByName(name)
	if !f.IsValid() {
		return f, fmt.Errorf("lower: op %s (%T) has no field %q", op, op, name)
	}
	return f, nil
}

// fields reads integer fields of one op, keeping the first error.
type fields struct {
	op  G.Op
	err error
}

func (f *fields) get(name string) reflect.Value {
	v, err := opField(f.op, name)
	if err != nil && f.err == nil {
		f.err = err
	}
	return v
}

func (f *fields) int(name string) int {
	if v := f.get(name); v.IsValid() {
		return int(v.Int())
	}
	return 0
}

func (f *fields) ints(name string) []int {
	v := f.get(name)
	if !v.IsValid() {
		return nil
	}
	out := make([]int, v.Len())
	for i := range out {
		out[i] = int(v.Index(i).Int())
	}
	return out
}

// positive is 1 where x > 0, else 0.
func (l *Lowerer) positive(x string) string {
	gt := l.G.Op("Greater", []string{x, l.Float(0)})
	return l.G.Op("Cast", []string{gt}, onnx.AttrInt("to", int64(onnx.TensorProto_FLOAT)))
}
