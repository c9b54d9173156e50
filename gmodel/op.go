package gmodel

import (
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"
	"sync"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opBase holds what every custom op shares: a printable identity (used for
// hashing, so two ops with the same identity may be merged by the graph) and
// the number of dimensions of each input and of the output (for typing).
type opBase struct {
	id      string
	inDims  []int
	outDims int
	cache   []float32 // the output buffer, reused by every run (see buffer)
}

// buffer returns the op's output buffer of n elements, allocated on the
// first run and reused afterwards: a forward pass of a large model would
// otherwise allocate (and page-fault in) gigabytes per run. Reuse is safe
// because a node's value is only read within the run that produced it, or
// copied out (Net.Forward). Contents are stale: the caller overwrites them.
func (o *opBase) buffer(n int) []float32 {
	if len(o.cache) != n {
		o.cache = make([]float32, n)
	}
	return o.cache
}

// zeroed is buffer cleared to zero, for ops that write only part of their
// output or accumulate into it.
func (o *opBase) zeroed(n int) []float32 {
	b := o.buffer(n)
	clear(b)
	return b
}

func (o *opBase) Arity() int            { return len(o.inDims) }
func (o *opBase) ReturnsPtr() bool      { return false }
func (o *opBase) CallsExtern() bool     { return false }
func (o *opBase) OverwritesInput() int  { return -1 }
func (o *opBase) String() string        { return o.id }
func (o *opBase) WriteHash(h hash.Hash) { fmt.Fprint(h, o.id) }
func (o *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// Type says: float tensors of the declared ranks in, one out.
func (o *opBase) Type() hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, 0, len(o.inDims)+1)
	for _, d := range o.inDims {
		ts = append(ts, tensorType(d, a))
	}
	ts = append(ts, tensorType(o.outDims, a))
	return hm.NewFnType(ts...)
}

func tensorType(dims int, of hm.Type) hm.Type {
	if dims == 0 {
		return of
	}
	return G.TensorType{Dims: dims, Of: of}
}

// f32 returns the contiguous float32 data of a value, materialising views.
func f32(v G.Value) []float32 {
	switch t := v.(type) {
	case *tensor.Dense:
		if t.IsView() {
			t = t.Materialize().(*tensor.Dense)
		}
		return t.Data().([]float32)
	case *G.F32:
		return []float32{float32(*t)}
	}
	panic(fmt.Sprintf("gmodel: unsupported value %T", v))
}

// newDense wraps data in a float32 tensor of the given shape.
func newDense(data []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// parallelRows runs f over [0, n) split into chunks across the CPUs; small
// jobs stay on the calling goroutine.
func parallelRows(n, workPerRow int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers == 1 || n*workPerRow < 1<<15 || n < 2 {
		f(0, n)
		return
	}
	if workers > n {
		workers = n
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() { defer wg.Done(); f(lo, hi) }()
	}
	wg.Wait()
}

func shapeOf(d G.DimSizer) tensor.Shape { return d.(tensor.Shape).Clone() }
