package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"github.com/tgan-dev/tgan/internal/data/augment"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// augSlot holds the DiffAugment parameters that a graph's augmentation ops
// apply on its next run: one Params per consecutive, equal chunk of the
// batch (the D step augments its real and its fake half with separate
// draws). The trainer fills it before each run; the tape machine reads it
// in augOp.Do, ONNX Runtime through the inputs the lowering declares
// (executor_lower.go), so both executors see the same draws.
type augSlot struct{ chunks []*augment.Params }

// set replaces the slot's parameters.
func (s *augSlot) set(chunks ...*augment.Params) { s.chunks = chunks }

var augOpCount atomic.Int64

// Modes of augOp.
const (
	augApply      = iota // augment.Apply: the augmentation, brightness included
	augLinear            // augment.ApplyLinear: without the additive brightness
	augTransposed        // augment.ApplyTranspose: the vector-Jacobian product
)

// augOp is DiffAugment with the slot's parameters as a graph op on a
// [B, C, H, W] batch. With the parameters fixed the augmentation is affine,
// so its derivative is the transposed map, whose derivative is the linear
// part again: the op is differentiable to any order (the penalty's double
// backward needs the second).
type augOp struct {
	slot  *augSlot
	mode  int
	shape tensor.Shape
	id    string
}

// augmentNode applies DiffAugment of slot's parameters to x [B, C, H, W].
func augmentNode(slot *augSlot, x *G.Node) *G.Node {
	op := &augOp{slot: slot, mode: augApply, shape: x.Shape().Clone(), id: fmt.Sprintf("tganAug#%d", augOpCount.Add(1))}
	return G.Must(G.ApplyOp(op, x))
}

func (o *augOp) Arity() int { return 1 }
func (o *augOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := G.TensorType{Dims: len(o.shape), Of: a}
	return hm.NewFnType(t, t)
}
func (o *augOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.shape.Clone(), nil }
func (o *augOp) ReturnsPtr() bool                               { return false }
func (o *augOp) CallsExtern() bool                              { return false }
func (o *augOp) OverwritesInput() int                           { return -1 }
func (o *augOp) String() string                                 { return fmt.Sprintf("%s(%d)", o.id, o.mode) }
func (o *augOp) WriteHash(h hash.Hash)                          { fmt.Fprint(h, o.String()) }
func (o *augOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o *augOp) Do(vals ...G.Value) (G.Value, error) {
	x := denseData(vals[0])
	y := make([]float32, len(x))
	n := len(o.slot.chunks)
	if n == 0 || len(x)%n != 0 {
		if n != 0 {
			return nil, fmt.Errorf("%s: %d values in %d chunks", o.id, len(x), n)
		}
		copy(y, x)
	}
	for i, p := range o.slot.chunks {
		lo, hi := i*len(x)/n, (i+1)*len(x)/n
		var out []float32
		switch {
		case p == nil:
			out = x[lo:hi]
		case o.mode == augApply:
			out = augment.Apply(p, x[lo:hi])
		case o.mode == augLinear:
			out = augment.ApplyLinear(p, x[lo:hi])
		default:
			out = augment.ApplyTranspose(p, x[lo:hi])
		}
		copy(y[lo:hi], out)
	}
	return tensor.New(tensor.WithShape(o.shape.Clone()...), tensor.WithBacking(y)), nil
}

func (o *augOp) DiffWRT(int) []bool { return []bool{true} }

func (o *augOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	back := &augOp{slot: o.slot, mode: augTransposed, shape: o.shape, id: o.id}
	if o.mode == augTransposed {
		back.mode = augLinear
	}
	n, err := G.ApplyOp(back, grad)
	return G.Nodes{n}, err
}

// denseData returns the contiguous float32 data of a graph value.
func denseData(v G.Value) []float32 {
	switch t := v.(type) {
	case *tensor.Dense:
		if t.IsScalar() {
			return []float32{t.ScalarValue().(float32)}
		}
		if t.IsView() {
			t = t.Materialize().(*tensor.Dense)
		}
		return t.Data().([]float32)
	case *G.F32:
		return []float32{float32(*t)}
	}
	panic(fmt.Sprintf("trainer: unsupported graph value %T", v))
}
