package exporter

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/model"
	"github.com/tgan-dev/tgan/onnx"
)

// Values of the KeyPrecision metadata key.
const (
	PrecisionFP32 = "fp32"
	PrecisionFP16 = "fp16"
)

// fp16Ops are the operators Float16 knows to be correct on float16 tensors
// (ai.onnx opset 17 schemas that accept tensor(float16), with float16
// kernels in ONNX Runtime's CUDA provider). A graph holding any other
// operator is refused, so that a new operator in the builder is not
// converted blindly. Shape-only operators (Reshape, Transpose, Gather,
// Concat, Expand, Shape, DepthToSpace, Identity, Slice) are type-agnostic.
// PixelNorm's ReduceMean of squares is deliberately absent: squares of
// activations beyond 256 overflow float16 (see Float16Refusal).
var fp16Ops = map[string]bool{
	"Gemm": true, "MatMul": true, "Add": true, "Mul": true, "Div": true, "Erf": true,
	"LayerNormalization": true, "Softmax": true, "Conv": true, "AveragePool": true,
	"Reshape": true, "Transpose": true, "Gather": true, "Concat": true, "Expand": true,
	"Shape": true, "DepthToSpace": true, "Identity": true, "Slice": true,
}

// fp32KeepOps are the operators Float16 can leave in float32 (all their
// inputs and outputs are float tensors).
var fp32KeepOps = map[string]bool{"LayerNormalization": true, "Softmax": true}

// Float16 converts a model built by Generator or Discriminator, in place,
// to float16 weights and compute with float32 inputs and outputs:
//
//   - every FLOAT initializer becomes FLOAT16 under the same (official)
//     name, rounded to nearest even; a value beyond float16's range
//     (|x| > 65504) is an error rather than an infinity;
//   - each float32 graph input x is cast once, by a Cast node at the front,
//     to the float16 value "x.fp16" that the graph's nodes read instead;
//   - each float32 graph output y keeps its name and type: the node that
//     made it now writes "y.fp16", and a final Cast writes y;
//   - int64 tensors (shapes, indices, the relative-position index) are
//     unchanged, and so are the inputs and outputs callers see, so runtime
//     and engine callers need no change and Triton's config stays TYPE_FP32.
//
// Numerics. LayerNormalization stays float16 with stash_type 1 (set
// explicitly; it is the default): mean and variance are computed in float32
// inside the kernel (ONNX Runtime's CPU and CUDA kernels accumulate in
// float for float16 input), so the normalisation does not lose the small
// variance of a large-mean row. Softmax stays float16 too: ONNX Runtime's
// kernels subtract the row maximum and accumulate the sum in float32, its
// outputs lie in [0, 1] where float16 has 11 significant bits, and the
// logits (q.k scaled by d^-0.5, bounded by |q||k|) are far from float16's
// 65504 limit. Both can be kept in float32 instead by naming them in
// keepFP32 ("LayerNormalization", "Softmax"): their float16 inputs are then
// cast to float32 around the node, and initializers read only by such nodes
// stay FLOAT. The exact GELU's constants (sqrt 2, 1, 0.5) round to the
// float16 values that ONNX Runtime's Gelu fusion expects, so the fusion
// still applies.
//
// The model's metadata gets KeyPrecision = PrecisionFP16. m's onnx.Graph
// must not be extended after the conversion (its bookkeeping of value
// names does not know the new ones).
func Float16(m *onnx.Model, keepFP32 ...string) error {
	if m == nil || m.Graph == nil {
		return errorf("float16: no graph")
	}
	if cfg, err := model.ParseJSON(m.Metadata[KeyConfig]); err == nil {
		if err := float16Refusal(cfg, m.Metadata[KeyNetwork]); err != nil {
			return err
		}
	}
	gp, err := m.Graph.Proto()
	if err != nil {
		return errorf("float16: %w", err)
	}
	keep := map[string]bool{}
	for _, op := range keepFP32 {
		if !fp32KeepOps[op] {
			return errorf("float16: cannot keep %q in float32 (only LayerNormalization and Softmax)", op)
		}
		keep[op] = true
	}
	c := &fp16Converter{gp: gp, keep: keep, names: map[string]bool{}}
	if err := c.convert(); err != nil {
		return errorf("float16: %w", err)
	}
	if m.Metadata == nil {
		m.Metadata = map[string]string{}
	}
	m.Metadata[KeyPrecision] = PrecisionFP16
	if m.DocString != "" {
		m.DocString += " Weights and compute in float16; inputs and outputs float32."
	}
	return nil
}

type fp16Converter struct {
	gp    *onnx.GraphProto
	keep  map[string]bool
	names map[string]bool // every value name in the graph
	casts int
}

func (c *fp16Converter) convert() error {
	gp := c.gp
	for _, v := range gp.Input {
		c.names[v.GetName()] = true
	}
	for _, t := range gp.Initializer {
		c.names[t.GetName()] = true
	}
	for _, n := range gp.Node {
		if n.GetDomain() != "" || !fp16Ops[n.GetOpType()] {
			return fmt.Errorf("node %s: operator %s%s is not supported", n.GetName(), n.GetDomain(), n.GetOpType())
		}
		for _, o := range n.Output {
			c.names[o] = true
		}
	}
	if err := c.initializers(); err != nil {
		return err
	}
	front, err := c.inputs()
	if err != nil {
		return err
	}
	nodes := make([]*onnx.NodeProto, 0, len(gp.Node)+len(front)+8)
	nodes = append(nodes, front...)
	for _, n := range gp.Node {
		if n.GetOpType() == "LayerNormalization" {
			setStashType(n)
		}
		if !c.keep[n.GetOpType()] {
			nodes = append(nodes, n)
			continue
		}
		before, after, err := c.island(n)
		if err != nil {
			return err
		}
		nodes = append(nodes, before...)
		nodes = append(nodes, n)
		nodes = append(nodes, after...)
	}
	gp.Node = nodes
	return c.outputs()
}

// fp32Init reports whether initializer name stays FLOAT: every node that
// reads it is kept in float32.
func (c *fp16Converter) fp32Init(name string) bool {
	used := false
	for _, n := range c.gp.Node {
		for _, in := range n.Input {
			if in == name {
				if !c.keep[n.GetOpType()] {
					return false
				}
				used = true
			}
		}
	}
	return used
}

// initializers converts FLOAT initializers to FLOAT16.
func (c *fp16Converter) initializers() error {
	for _, t := range c.gp.Initializer {
		if onnx.TensorProto_DataType(t.GetDataType()) != onnx.TensorProto_FLOAT || c.fp32Init(t.GetName()) {
			continue
		}
		vals, err := onnx.FloatData(t)
		if err != nil {
			return err
		}
		raw := make([]byte, 2*len(vals))
		for i, v := range vals {
			h := Float32ToFloat16(v)
			if h&0x7c00 == 0x7c00 && !(math.IsInf(float64(v), 0) || math.IsNaN(float64(v))) {
				return fmt.Errorf("initializer %q: value %g is out of float16 range", t.GetName(), v)
			}
			binary.LittleEndian.PutUint16(raw[2*i:], h)
		}
		t.DataType = proto.Int32(int32(onnx.TensorProto_FLOAT16))
		t.FloatData = nil
		t.RawData = raw
	}
	return nil
}

// inputs returns the Cast nodes that turn the float32 graph inputs into
// float16 values, and points the graph's nodes at those.
func (c *fp16Converter) inputs() ([]*onnx.NodeProto, error) {
	var casts []*onnx.NodeProto
	for _, v := range c.gp.Input {
		if !isFloatValue(v) {
			continue
		}
		name := v.GetName()
		half, err := c.fresh(name + ".fp16")
		if err != nil {
			return nil, err
		}
		c.rename(name, half, nil)
		casts = append(casts, c.cast(name, half, onnx.TensorProto_FLOAT16))
	}
	return casts, nil
}

// outputs makes every float32 graph output the result of a final Cast from
// the float16 value its producer now writes.
func (c *fp16Converter) outputs() error {
	for _, v := range c.gp.Output {
		if !isFloatValue(v) {
			continue
		}
		name := v.GetName()
		var producer *onnx.NodeProto
		for _, n := range c.gp.Node {
			for _, o := range n.Output {
				if o == name {
					producer = n
				}
			}
		}
		if producer == nil {
			return fmt.Errorf("graph output %q is not made by a node", name)
		}
		half, err := c.fresh(name + ".fp16")
		if err != nil {
			return err
		}
		for i, o := range producer.Output {
			if o == name {
				producer.Output[i] = half
			}
		}
		c.rename(name, half, nil)
		c.gp.Node = append(c.gp.Node, c.cast(half, name, onnx.TensorProto_FLOAT))
	}
	return nil
}

// island surrounds a node kept in float32 with Casts: its float16 inputs are
// cast to float32 before it, and its outputs back to float16 after it.
func (c *fp16Converter) island(n *onnx.NodeProto) (before, after []*onnx.NodeProto, err error) {
	for i, in := range n.Input {
		if in == "" || (c.isInit(in) && c.fp32Init(in)) {
			continue
		}
		f32, err := c.fresh(in + ".fp32")
		if err != nil {
			return nil, nil, err
		}
		before = append(before, c.cast(in, f32, onnx.TensorProto_FLOAT))
		n.Input[i] = f32
	}
	for i, o := range n.Output {
		if o == "" {
			continue
		}
		f32, err := c.fresh(o + ".fp32")
		if err != nil {
			return nil, nil, err
		}
		n.Output[i] = f32
		after = append(after, c.cast(f32, o, onnx.TensorProto_FLOAT16))
	}
	return before, after, nil
}

func (c *fp16Converter) isInit(name string) bool {
	for _, t := range c.gp.Initializer {
		if t.GetName() == name {
			return true
		}
	}
	return false
}

// fresh claims a new value name.
func (c *fp16Converter) fresh(name string) (string, error) {
	if c.names[name] {
		return "", fmt.Errorf("value name %q already in use", name)
	}
	c.names[name] = true
	return name, nil
}

// rename points every node input that reads from at to, except skip.
func (c *fp16Converter) rename(from, to string, skip *onnx.NodeProto) {
	for _, n := range c.gp.Node {
		if n == skip {
			continue
		}
		for i, in := range n.Input {
			if in == from {
				n.Input[i] = to
			}
		}
	}
}

func (c *fp16Converter) cast(from, to string, dt onnx.TensorProto_DataType) *onnx.NodeProto {
	c.casts++
	return &onnx.NodeProto{
		Name:      proto.String(fmt.Sprintf("fp16/Cast_%d_%s", c.casts, strings.ToLower(dt.String()))),
		OpType:    proto.String("Cast"),
		Input:     []string{from},
		Output:    []string{to},
		Attribute: []*onnx.AttributeProto{onnx.AttrInt("to", int64(dt))},
	}
}

// setStashType makes LayerNormalization's float32 statistics explicit.
func setStashType(n *onnx.NodeProto) {
	for _, a := range n.Attribute {
		if a.GetName() == "stash_type" {
			a.I = proto.Int64(int64(onnx.TensorProto_FLOAT))
			return
		}
	}
	n.Attribute = append(n.Attribute, onnx.AttrInt("stash_type", int64(onnx.TensorProto_FLOAT)))
}

func isFloatValue(v *onnx.ValueInfoProto) bool {
	tt := v.GetType().GetTensorType()
	return tt != nil && onnx.TensorProto_DataType(tt.GetElemType()) == onnx.TensorProto_FLOAT
}

// Float32ToFloat16 returns the IEEE 754 binary16 bits nearest to f (ties to
// even), as a float32 -> float16 conversion on the GPU does: values beyond
// the largest finite half (65504, up to the rounding midpoint 65520) become
// infinities, values below the smallest subnormal (2^-24) round to signed
// zero, NaN stays a (quiet) NaN.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 31 {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half: units of 2^-24. The full 24-bit significand
		// m*2^(exp-150) is m >> (14-e) units.
		if exp == 0 {
			return sign // float32 subnormals are far below 2^-24
		}
		full := mant | 0x800000
		shift := uint(14 - e)
		if shift > 24 {
			return sign // below half the smallest subnormal
		}
		h := full >> shift
		rem, half := full&(1<<shift-1), uint32(1)<<(shift-1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal: still the right bits
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent (or to infinity) is correct
	}
	return sign | uint16(h)
}

// Float16ToFloat32 returns the value of the binary16 bits h.
func Float16ToFloat32(h uint16) float32 { return onnx.Float16ToFloat32(h) }
