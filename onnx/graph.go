package onnx

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
)

// Graph builds an ONNX graph. Values are referred to by name: the names of
// inputs, initializers and node outputs. The zero value is not usable; call
// NewGraph.
type Graph struct {
	proto    *GraphProto
	defined  map[string]bool       // every value name: inputs, initializers, node outputs
	producer map[string]*NodeProto // node output -> the node that makes it
	consts   map[string]string     // constant key -> initializer name (deduplication)
	scope    string
	nodes    int
	err      error
}

// NewGraph returns an empty graph with the given name.
func NewGraph(name string) *Graph {
	return &Graph{
		proto:    &GraphProto{Name: proto.String(name)},
		defined:  map[string]bool{},
		producer: map[string]*NodeProto{},
		consts:   map[string]string{},
	}
}

// Err returns the first error met while building the graph.
func (g *Graph) Err() error { return g.err }

// fail records the first error.
func (g *Graph) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("onnx: graph %q: "+format, append([]any{g.proto.GetName()}, args...)...)
	}
}

// Scope sets the prefix of the names of the nodes added next, for example
// "blocks.0.attn" (readable names in profiles and viewers). It returns the
// previous scope so that callers can restore it.
func (g *Graph) Scope(s string) (previous string) {
	previous, g.scope = g.scope, s
	return previous
}

// define claims a value name; a name can be defined once.
func (g *Graph) define(name string) {
	if name == "" {
		g.fail("empty value name")
		return
	}
	if g.defined[name] {
		g.fail("value %q defined twice", name)
		return
	}
	g.defined[name] = true
}

// Input adds a float32 graph input. Dimensions equal to Batch become the
// symbolic dimension "batch". It returns name.
func (g *Graph) Input(name string, dims ...int64) string {
	g.define(name)
	g.proto.Input = append(g.proto.Input, tensorValue(name, dims))
	return name
}

// Output declares value as a float32 graph output called name. When value
// is the output of a node, that output is renamed; otherwise an Identity
// node copies it.
func (g *Graph) Output(value, name string, dims ...int64) {
	if value != name {
		if n := g.producer[value]; n != nil && !g.defined[name] {
			for i, o := range n.Output {
				if o == value {
					n.Output[i] = name
				}
			}
			delete(g.producer, value)
			delete(g.defined, value)
			g.define(name)
			g.producer[name] = n
		} else {
			g.Node("Identity", []string{value}, []string{name})
		}
	}
	g.proto.Output = append(g.proto.Output, tensorValue(name, dims))
}

// Initializer adds a named float32 constant and returns its name.
func (g *Graph) Initializer(name string, shape []int, data []float32) string {
	t, err := FloatTensor(name, shape, data)
	return g.addInit(name, t, err)
}

// InitializerInt64 adds a named int64 constant and returns its name.
func (g *Graph) InitializerInt64(name string, shape []int, data []int64) string {
	t, err := Int64Tensor(name, shape, data)
	return g.addInit(name, t, err)
}

func (g *Graph) addInit(name string, t *TensorProto, err error) string {
	if err != nil {
		if g.err == nil {
			g.err = err
		}
		return name
	}
	g.define(name)
	g.proto.Initializer = append(g.proto.Initializer, t)
	return name
}

// Int64s returns a 1-D int64 constant holding vals (for shapes, axes,
// indices). Equal constants share one initializer.
func (g *Graph) Int64s(vals ...int64) string {
	key := fmt.Sprint("i64", vals)
	if name, ok := g.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const.i64.%d", len(g.consts))
	g.consts[key] = name
	return g.InitializerInt64(name, []int{len(vals)}, vals)
}

// Int64 returns a scalar (rank 0) int64 constant, for example a Gather index
// that drops the gathered axis.
func (g *Graph) Int64(v int64) string {
	key := fmt.Sprint("i64scalar", v)
	if name, ok := g.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const.i64s.%d", len(g.consts))
	g.consts[key] = name
	return g.InitializerInt64(name, []int{}, []int64{v})
}

// Float returns a scalar float32 constant. Equal constants share one
// initializer.
func (g *Graph) Float(v float32) string {
	key := fmt.Sprint("f32", v)
	if name, ok := g.consts[key]; ok {
		return name
	}
	name := fmt.Sprintf("const.f32.%d", len(g.consts))
	g.consts[key] = name
	return g.Initializer(name, []int{}, []float32{v})
}

// Node adds a node of the default (ai.onnx) domain. outputs are the names of
// its outputs; an empty name is replaced by a fresh unique one. It returns
// the output names. Every non-empty input must already be defined (an empty
// input skips an optional one).
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) []string {
	g.nodes++
	name := fmt.Sprintf("%s_%d", op, g.nodes)
	if g.scope != "" {
		name = g.scope + "/" + name
	}
	for _, in := range inputs {
		if in != "" && !g.defined[in] {
			g.fail("node %s: unknown input %q", name, in)
		}
	}
	outs := make([]string, len(outputs))
	n := &NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: inputs, Attribute: attrs}
	for i, o := range outputs {
		if o == "" {
			o = name
			if len(outputs) > 1 {
				o = fmt.Sprintf("%s:%d", name, i)
			}
		}
		g.define(o)
		g.producer[o] = n
		outs[i] = o
	}
	n.Output = outs
	g.proto.Node = append(g.proto.Node, n)
	return outs
}

// Op adds a node with one output and returns the output's name.
func (g *Graph) Op(op string, inputs []string, attrs ...Attr) string {
	return g.Node(op, inputs, []string{""}, attrs...)[0]
}

// Proto returns the graph's protobuf message (shared, not copied), or the
// first error met while building it.
func (g *Graph) Proto() (*GraphProto, error) {
	if g.err != nil {
		return nil, g.err
	}
	if len(g.proto.Output) == 0 {
		return nil, fmt.Errorf("onnx: graph %q has no outputs", g.proto.GetName())
	}
	return g.proto, nil
}

// Initializers lists the names of the graph's initializers in order.
func (g *Graph) Initializers() []string {
	names := make([]string, len(g.proto.Initializer))
	for i, t := range g.proto.Initializer {
		names[i] = t.GetName()
	}
	return names
}

// OpCounts returns how many nodes of each operator type the graph holds, as
// "Op:count" pairs sorted by operator (for logs and tests).
func (g *Graph) OpCounts() string {
	counts := map[string]int{}
	var ops []string
	for _, n := range g.proto.Node {
		if counts[n.GetOpType()] == 0 {
			ops = append(ops, n.GetOpType())
		}
		counts[n.GetOpType()]++
	}
	sort.Strings(ops)
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s:%d", op, counts[op])
	}
	return strings.Join(parts, " ")
}
