package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"github.com/tgan-dev/tgan/internal/augment"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// augSlot holds the DiffAugment parameters that an augmentation op uses on
// its next run; the trainer swaps them before each run.
type augSlot struct{ p *augment.Params }

var augOpCount atomic.Int64

// augOp is the linear part of DiffAugment with fixed parameters as a graph
// op, in either direction: transpose=true maps a gradient with respect to
// the augmented batch [B, C, H, W] to one with respect to the original batch,
// flattened per sample [B, C*H*W] (augment.ApplyTranspose); transpose=false
// is its adjoint, [B, C*H*W] -> [B, C, H, W] (augment.ApplyLinear). Each is
// the other's derivative, so the op is differentiable to any order.
type augOp struct {
	slot      *augSlot
	transpose bool
	in, out   tensor.Shape
	id        string
}

func newAugOp(slot *augSlot, transpose bool, in, out tensor.Shape, id string) *augOp {
	return &augOp{slot: slot, transpose: transpose, in: in.Clone(), out: out.Clone(), id: id}
}

// augTranspose applies ApplyTranspose of slot's parameters to g [B,C,H,W].
func augTranspose(slot *augSlot, g *G.Node) *G.Node {
	s := g.Shape()
	id := fmt.Sprintf("tganAugT#%d", augOpCount.Add(1))
	op := newAugOp(slot, true, s, tensor.Shape{s[0], s[1] * s[2] * s[3]}, id)
	return G.Must(G.ApplyOp(op, g))
}

func (o *augOp) Arity() int { return 1 }
func (o *augOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(G.TensorType{Dims: len(o.in), Of: a}, G.TensorType{Dims: len(o.out), Of: a})
}
func (o *augOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return o.out.Clone(), nil }
func (o *augOp) ReturnsPtr() bool                               { return false }
func (o *augOp) CallsExtern() bool                              { return false }
func (o *augOp) OverwritesInput() int                           { return -1 }
func (o *augOp) String() string                                 { return fmt.Sprintf("%s(%v)", o.id, o.transpose) }
func (o *augOp) WriteHash(h hash.Hash)                          { fmt.Fprint(h, o.String()) }
func (o *augOp) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o *augOp) Do(vals ...G.Value) (G.Value, error) {
	x := denseData(vals[0])
	var y []float32
	switch {
	case o.slot.p == nil:
		y = append([]float32(nil), x...)
	case o.transpose:
		y = augment.ApplyTranspose(o.slot.p, x)
	default:
		y = augment.ApplyLinear(o.slot.p, x)
	}
	return tensor.New(tensor.WithShape(o.out.Clone()...), tensor.WithBacking(y)), nil
}

func (o *augOp) DiffWRT(int) []bool { return []bool{true} }

func (o *augOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	back := newAugOp(o.slot, !o.transpose, o.out, o.in, o.id)
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
