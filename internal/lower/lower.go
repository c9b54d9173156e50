package lower

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/tgan-dev/tgan/onnx"
	"google.golang.org/protobuf/proto"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Input is a graph input fed from a Gorgonia input node's current value
// (a weight, the batch, z, the mask, D's attention noise, a constant).
type Input struct {
	Name  string
	Node  *G.Node
	Shape []int
}

// Extra is a graph input that has no Gorgonia node: Fill returns its
// current value before each run (for example augmentation index maps).
type Extra struct {
	Name  string
	Shape []int
	Fill  func() []float32
}

// Ext lowers op kinds this package does not know (the trainer's loss and
// augmentation ops). ins are the lowered values of n's children. It
// returns handled=false to leave n to the built-in rules.
type Ext func(l *Lowerer, n *G.Node, ins []string) (value string, handled bool, err error)

// Lowerer turns Gorgonia nodes into ONNX nodes of one graph. Values are
// memoised per node, so shared subexpressions are lowered once and several
// Gorgonia graphs (a net and one it calls) can be lowered into one model.
type Lowerer struct {
	G   *onnx.Graph
	Ext Ext

	names    map[*G.Node]string
	prefix   map[*G.ExprGraph]string
	inputs   []Input
	extras   []Extra
	outputs  []string
	outShape [][]int
	rowStats map[string][2]string // x -> (mean, inv std) of its rows
	counter  int
	onesOf   map[int]string
	state    map[*G.Node]bool
	err      error
}

// New returns a Lowerer building a graph called name.
func New(name string) *Lowerer {
	return &Lowerer{
		G:        onnx.NewGraph(name),
		names:    map[*G.Node]string{},
		prefix:   map[*G.ExprGraph]string{},
		rowStats: map[string][2]string{},
		onesOf:   map[int]string{},
		state:    map[*G.Node]bool{},
	}
}

// MarkState marks input nodes whose values stay where they are between
// runs (weights, optimizer state, gradient buffers): a Session does not
// count them among what a run moves between Go and ONNX Runtime
// (Session.Moved).
func (l *Lowerer) MarkState(nodes ...*G.Node) {
	for _, n := range nodes {
		l.state[n] = true
	}
}

// Prefix names the inputs of graph's input nodes prefix+node name (two
// graphs lowered into one model may share weight names).
func (l *Lowerer) Prefix(graph *G.ExprGraph, prefix string) { l.prefix[graph] = prefix }

// Bind makes value the lowered value of n: its subgraph is not lowered
// (used to feed one graph's input from another graph's value).
func (l *Lowerer) Bind(n *G.Node, value string) { l.names[n] = value }

// Inputs lists the inputs fed from Gorgonia nodes, in graph order.
func (l *Lowerer) Inputs() []Input { return l.inputs }

// Extras lists the inputs filled by functions, in graph order.
func (l *Lowerer) Extras() []Extra { return l.extras }

// Outputs lists the output names in order.
func (l *Lowerer) Outputs() []string { return l.outputs }

// AddExtra declares an input filled by fill before each run.
func (l *Lowerer) AddExtra(name string, shape []int, fill func() []float32) string {
	l.extras = append(l.extras, Extra{Name: name, Shape: shape, Fill: fill})
	return l.G.Input(name, dims64(shape)...)
}

// Output lowers n and declares it as the output called name.
func (l *Lowerer) Output(n *G.Node, name string) error {
	v, err := l.Lower(n)
	if err != nil {
		return err
	}
	l.OutputValue(v, name, n.Shape())
	return nil
}

// OutputValue declares value (of shape) as the output called name.
// Scalars become [1] (onnxruntime_go cannot return rank-0 tensors).
func (l *Lowerer) OutputValue(value, name string, shape []int) {
	if len(shape) == 0 {
		shape = []int{1}
		value = l.Reshape(value, shape)
	}
	l.G.Node("Identity", []string{value}, []string{name})
	l.G.Output(name, name, dims64(shape)...)
	l.outputs = append(l.outputs, name)
	l.outShape = append(l.outShape, append([]int(nil), shape...))
}

// Model serialises the graph as an ONNX model (opset 17).
func (l *Lowerer) Model() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	mp, err := (&onnx.Model{Graph: l.G}).Proto()
	if err != nil {
		return nil, err
	}
	return proto.Marshal(mp)
}

// Lower returns the ONNX value of n, lowering n and everything it depends
// on first (children before parents, each once).
func (l *Lowerer) Lower(n *G.Node) (string, error) {
	if v, ok := l.names[n]; ok {
		return v, nil
	}
	if _, err := childrenOffset(); err != nil {
		return "", err
	}
	// Iterative post-order walk: graphs have thousands of nodes in chains.
	type frame struct {
		n    *G.Node
		kids G.Nodes
		next int
	}
	stack := []frame{{n: n, kids: children(n)}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next < len(top.kids) {
			k := top.kids[top.next]
			top.next++
			if _, ok := l.names[k]; !ok {
				stack = append(stack, frame{n: k, kids: children(k)})
			}
			continue
		}
		if _, ok := l.names[top.n]; !ok {
			v, err := l.lowerNode(top.n, top.kids)
			if err != nil {
				if l.err == nil {
					l.err = err
				}
				return "", err
			}
			l.names[top.n] = v
		}
		stack = stack[:len(stack)-1]
	}
	if err := l.G.Err(); err != nil {
		return "", err
	}
	return l.names[n], nil
}

// lowerNode emits the ONNX nodes of one Gorgonia node whose children are
// lowered.
func (l *Lowerer) lowerNode(n *G.Node, kids G.Nodes) (string, error) {
	if n.Op() == nil {
		return l.input(n)
	}
	ins := make([]string, len(kids))
	for i, k := range kids {
		ins[i] = l.names[k]
	}
	if l.Ext != nil {
		v, ok, err := l.Ext(l, n, ins)
		if err != nil || ok {
			return v, err
		}
	}
	if v, ok, err := l.gmodelOp(n, kids, ins); err != nil || ok {
		return v, err
	}
	if v, ok, err := l.builtinOp(n, kids, ins); err != nil || ok {
		return v, err
	}
	return "", fmt.Errorf("lower: no ONNX lowering for op %s (%T) of node %s", n.Op(), n.Op(), n.Name())
}

// input declares an input node as a graph input fed from its value.
func (l *Lowerer) input(n *G.Node) (string, error) {
	if n.Value() == nil {
		return "", fmt.Errorf("lower: input node %s has no value", n.Name())
	}
	shape := []int(n.Shape())
	if len(shape) == 0 { // a scalar input (the update's step sizes) as [1]: onnxruntime_go's tensors have a dimension
		shape = []int{1}
	}
	name := l.prefix[n.Graph()] + n.Name()
	l.inputs = append(l.inputs, Input{Name: name, Node: n, Shape: shape})
	return l.G.Input(name, dims64(shape)...), nil
}

// childrenOffset locates Node.children: Gorgonia does not export a node's
// operands in order. (ExprGraph.From(id) happens to iterate them in order
// in v0.9.18, but it is documented as the set of successors, gonum's
// graph contract, and its id lookup scans the node list: quadratic over a
// graph.) It is looked up on first use, so only lowering fails, with a
// clear error, if a Gorgonia release renames the field; other commands
// never touch it.
var childrenOffset = sync.OnceValues(func() (uintptr, error) {
	f, ok := reflect.TypeOf(G.Node{}).FieldByName("children")
	if !ok || f.Type != reflect.TypeOf(G.Nodes{}) {
		return 0, errors.New("lower: this Gorgonia's Node has no children field of type Nodes (tgan is built for gorgonia v0.9.18): the ONNX Runtime executor cannot read graphs; use --executor gorgonia")
	}
	return f.Offset, nil
})

// children returns n's operands in argument order. Lower checks
// childrenOffset before any call.
func children(n *G.Node) G.Nodes {
	off, err := childrenOffset()
	if err != nil {
		panic(err) // unreachable: Lower returned the error first
	}
	return *(*G.Nodes)(unsafe.Add(unsafe.Pointer(n), off))
}

// Children returns n's operands in argument order (exported for callers
// that lower ops of their own).
func Children(n *G.Node) G.Nodes { return children(n) }

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

func ints64(v []int) []int64 { return dims64(v) }

// NodeData returns the contiguous float32 data of n's current value.
func NodeData(n *G.Node) []float32 {
	switch t := n.Value().(type) {
	case *tensor.Dense:
		if t.IsView() {
			t = t.Materialize().(*tensor.Dense)
		}
		if t.IsScalar() {
			return []float32{t.ScalarValue().(float32)}
		}
		return t.Data().([]float32)
	case *G.F32:
		return []float32{float32(*t)}
	}
	panic(fmt.Sprintf("lower: unsupported value %T of node %s", n.Value(), n.Name()))
}
