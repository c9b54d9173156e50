package lower

import (
	"fmt"
	"reflect"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// builtinOp lowers the Gorgonia ops that the trainer's graphs use: element
// arithmetic (from G.Grad and the penalty's norm), unary maths, sums and
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
