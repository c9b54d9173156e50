package fused

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/onnx"
)

// graph indexes a GraphProto for pattern matching: who makes each value,
// who reads it, and the initializers by name. Rewrites remove nodes by
// marking them dead and add new ones at the end; finish puts the node list
// back in topological order and drops what nobody reads any more.
type graph struct {
	gp        *onnx.GraphProto
	producer  map[string]*onnx.NodeProto
	consumers map[string][]*onnx.NodeProto
	inits     map[string]*onnx.TensorProto
	outputs   map[string]bool // graph outputs
	names     map[string]bool // every value and node name in use
	dead      map[*onnx.NodeProto]bool
	added     []*onnx.NodeProto
	fresh     int
}

func newGraph(gp *onnx.GraphProto) *graph {
	g := &graph{
		gp:        gp,
		producer:  map[string]*onnx.NodeProto{},
		consumers: map[string][]*onnx.NodeProto{},
		inits:     map[string]*onnx.TensorProto{},
		outputs:   map[string]bool{},
		names:     map[string]bool{},
		dead:      map[*onnx.NodeProto]bool{},
	}
	for _, v := range gp.Input {
		g.names[v.GetName()] = true
	}
	for _, v := range gp.Output {
		g.outputs[v.GetName()] = true
	}
	for _, t := range gp.Initializer {
		g.inits[t.GetName()] = t
		g.names[t.GetName()] = true
	}
	for _, n := range gp.Node {
		g.index(n)
	}
	return g
}

func (g *graph) index(n *onnx.NodeProto) {
	g.names[n.GetName()] = true
	for _, in := range n.Input {
		if in != "" {
			g.consumers[in] = append(g.consumers[in], n)
		}
	}
	for _, o := range n.Output {
		if o != "" {
			g.producer[o] = n
			g.names[o] = true
		}
	}
}

// name returns an unused value or node name starting with base.
func (g *graph) name(base string) string {
	for {
		g.fresh++
		s := fmt.Sprintf("%s.%d", base, g.fresh)
		if !g.names[s] {
			g.names[s] = true
			return s
		}
	}
}

// node adds a node; domain "" is ai.onnx. Empty output names stay empty
// (an optional output that is not produced).
func (g *graph) node(domain, op, name string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	n := &onnx.NodeProto{
		Name: proto.String(g.name(name)), OpType: proto.String(op), Input: inputs, Output: outputs,
		Attribute: attrs,
	}
	if domain != "" {
		n.Domain = proto.String(domain)
	}
	g.added = append(g.added, n)
	g.index(n)
	return n
}

// int64s adds a 1-D int64 initializer and returns its name.
func (g *graph) int64s(base string, vals ...int64) string {
	name := g.name(base)
	t, _ := onnx.Int64Tensor(name, []int{len(vals)}, vals) // shape and data agree by construction
	g.addInit(t)
	return name
}

func (g *graph) addInit(t *onnx.TensorProto) {
	g.names[t.GetName()] = true
	g.inits[t.GetName()] = t
	g.gp.Initializer = append(g.gp.Initializer, t)
}

// op returns the producer of value when it is an ai.onnx node of type op.
func (g *graph) op(value, op string) *onnx.NodeProto {
	n := g.producer[value]
	if n == nil || n.GetDomain() != "" || n.GetOpType() != op || g.dead[n] {
		return nil
	}
	return n
}

// only returns the single live consumer of value, or nil.
func (g *graph) only(value string) *onnx.NodeProto {
	var found *onnx.NodeProto
	for _, n := range g.consumers[value] {
		if g.dead[n] {
			continue
		}
		if found != nil {
			return nil
		}
		found = n
	}
	if g.outputs[value] {
		return nil
	}
	return found
}

// liveConsumers counts the live readers of value (a graph output counts).
func (g *graph) liveConsumers(value string) int {
	c := 0
	for _, n := range g.consumers[value] {
		if !g.dead[n] {
			c++
		}
	}
	if g.outputs[value] {
		c++
	}
	return c
}

// finish rebuilds the node list: live nodes, old and new, in a
// topological order that keeps the original order where it can, then drops
// initializers that no node reads.
func (g *graph) finish() error {
	all := make([]*onnx.NodeProto, 0, len(g.gp.Node)+len(g.added))
	for _, n := range append(g.gp.Node, g.added...) {
		if !g.dead[n] {
			all = append(all, n)
		}
	}
	order := make([]*onnx.NodeProto, 0, len(all))
	state := map[*onnx.NodeProto]int{} // 1 visiting, 2 done
	var visit func(n *onnx.NodeProto) error
	visit = func(n *onnx.NodeProto) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("cycle at node %s", n.GetName())
		case 2:
			return nil
		}
		state[n] = 1
		for _, in := range n.Input {
			if p := g.producer[in]; p != nil && !g.dead[p] {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		order = append(order, n)
		return nil
	}
	for _, n := range all {
		if err := visit(n); err != nil {
			return err
		}
	}
	g.gp.Node = order
	read := map[string]bool{}
	for _, n := range order {
		for _, in := range n.Input {
			read[in] = true
		}
	}
	kept := g.gp.Initializer[:0]
	for _, t := range g.gp.Initializer {
		if read[t.GetName()] || g.outputs[t.GetName()] {
			kept = append(kept, t)
		}
	}
	g.gp.Initializer = kept
	return nil
}

// attr returns a node's attribute by name, or nil.
func attr(n *onnx.NodeProto, name string) *onnx.AttributeProto {
	for _, a := range n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// intAttr returns an INT attribute, or def when absent.
func intAttr(n *onnx.NodeProto, name string, def int64) int64 {
	if a := attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

// intsAttr returns an INTS attribute (nil when absent).
func intsAttr(n *onnx.NodeProto, name string) []int64 {
	if a := attr(n, name); a != nil {
		return a.Ints
	}
	return nil
}

func equalInts(a []int64, b ...int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// int64Values decodes an INT64 initializer, or returns nil.
func (g *graph) int64Values(name string) []int64 {
	t := g.inits[name]
	if t == nil || onnx.TensorProto_DataType(t.GetDataType()) != onnx.TensorProto_INT64 {
		return nil
	}
	if t.RawData == nil {
		return t.Int64Data
	}
	out := make([]int64, len(t.RawData)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.RawData[8*i:]))
	}
	return out
}

// scalar decodes a one-element FLOAT or FLOAT16 initializer and returns
// its value and type.
func (g *graph) scalar(name string) (float32, onnx.TensorProto_DataType, bool) {
	t := g.inits[name]
	if t == nil {
		return 0, 0, false
	}
	for _, d := range t.Dims {
		if d != 1 {
			return 0, 0, false
		}
	}
	dt := onnx.TensorProto_DataType(t.GetDataType())
	switch {
	case dt == onnx.TensorProto_FLOAT && len(t.RawData) == 4:
		return math.Float32frombits(binary.LittleEndian.Uint32(t.RawData)), dt, true
	case dt == onnx.TensorProto_FLOAT && len(t.FloatData) == 1:
		return t.FloatData[0], dt, true
	case dt == onnx.TensorProto_FLOAT16 && len(t.RawData) == 2:
		return onnx.Float16ToFloat32(binary.LittleEndian.Uint16(t.RawData)), dt, true
	case dt == onnx.TensorProto_FLOAT16 && len(t.Int32Data) == 1:
		return onnx.Float16ToFloat32(uint16(t.Int32Data[0])), dt, true
	}
	return 0, 0, false
}

// rawElements returns a FLOAT or FLOAT16 initializer's data as
// little-endian bytes and the size of one element.
func rawElements(t *onnx.TensorProto) ([]byte, int, error) {
	switch onnx.TensorProto_DataType(t.GetDataType()) {
	case onnx.TensorProto_FLOAT:
		if t.RawData != nil {
			if len(t.RawData)%4 != 0 {
				return nil, 0, fmt.Errorf("initializer %q: raw_data length %d", t.GetName(), len(t.RawData))
			}
			return t.RawData, 4, nil
		}
		vals, err := onnx.FloatData(t)
		if err != nil {
			return nil, 0, err
		}
		raw := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		return raw, 4, nil
	case onnx.TensorProto_FLOAT16:
		if t.RawData != nil {
			return t.RawData, 2, nil
		}
		raw := make([]byte, 2*len(t.Int32Data))
		for i, v := range t.Int32Data {
			binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
		}
		return raw, 2, nil
	}
	return nil, 0, fmt.Errorf("initializer %q is not FLOAT or FLOAT16", t.GetName())
}
