package fused

import (
	"encoding/binary"
	"math"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/tgan-dev/tgan/onnx"
)

// Int8 weights (Options.Int8Weights, CPU only) trade exactness for speed.
// On the CPU the weight GEMMs are most of a generator's time and already
// run near the float32 peak of the cores (BENCHMARKS.md, issue 12), so
// lower precision is the remaining lever. Every plain Gemm y = x W^T + b
// with a float32 initializer W becomes ONNX Runtime's
// com.microsoft.DynamicQuantizeMatMul: W is stored as int8 with one scale
// per output channel (symmetric, zero point 0: scale = max|W[n,:]| / 127),
// and x is quantized to uint8 with one scale per tensor when the node runs.
// Attention, LayerNorm, GELU and the convolutions stay float32.

// KeyInt8 is set on a file whose weight GEMMs were quantized, to a short
// description of the scheme.
const KeyInt8 = "tgan.int8"

const int8Scheme = "Gemm weights int8 per output channel (symmetric); activations uint8 per tensor at run time (DynamicQuantizeMatMul)"

// quantizeGemms replaces every plain Gemm with a 2-D float32 weight
// initializer by DynamicQuantizeMatMul and returns how many it replaced.
func (g *graph) quantizeGemms() int {
	n := 0
	for _, node := range slices.Concat(g.gp.Node, g.added) {
		if g.dead[node] || node.GetDomain() != "" || node.GetOpType() != "Gemm" || !plainGemm(node) {
			continue
		}
		w := g.inits[node.Input[1]]
		if w == nil || len(w.Dims) != 2 || onnx.TensorProto_DataType(w.GetDataType()) != onnx.TensorProto_FLOAT {
			continue
		}
		raw, _, err := rawElements(w)
		if err != nil || len(raw) != int(4*w.Dims[0]*w.Dims[1]) {
			continue // left as it is: still a correct float32 Gemm
		}
		q, scales := quantizeRows(raw, int(w.Dims[0]), int(w.Dims[1]))
		base := w.GetName()
		inputs := []string{
			node.Input[0],
			g.addTensor(base+".int8", onnx.TensorProto_INT8, []int64{w.Dims[1], w.Dims[0]}, q),
			g.addTensor(base+".scale", onnx.TensorProto_FLOAT, []int64{w.Dims[0]}, float32Bytes(scales)),
			g.addTensor(base+".zero_point", onnx.TensorProto_INT8, []int64{w.Dims[0]}, make([]byte, w.Dims[0])),
		}
		if len(node.Input) > 2 && node.Input[2] != "" {
			inputs = append(inputs, node.Input[2])
		}
		g.node(MSDomain, "DynamicQuantizeMatMul", node.GetName()+".int8", inputs, node.Output)
		g.dead[node] = true
		n++
	}
	return n
}

// quantizeRows quantizes w [rows, cols] (float32, little-endian) per row
// and returns the values transposed to [cols, rows] (the MatMul layout
// DynamicQuantizeMatMul takes) and the scale of each row: w[r][c] is
// approximately q[c][r] * scale[r], within scale[r]/2.
func quantizeRows(raw []byte, rows, cols int) ([]byte, []float32) {
	at := func(r, c int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*(r*cols+c):])) }
	q := make([]byte, rows*cols)
	scales := make([]float32, rows)
	for r := 0; r < rows; r++ {
		var m float64
		for c := 0; c < cols; c++ {
			m = math.Max(m, math.Abs(float64(at(r, c))))
		}
		scale := float32(m / 127)
		if scale == 0 || math.IsInf(float64(scale), 0) || math.IsNaN(float64(scale)) {
			scale = 1 // an all-zero row: any scale represents it exactly
		}
		scales[r] = scale
		for c := 0; c < cols; c++ {
			v := math.Round(float64(at(r, c) / scale))
			q[c*rows+r] = byte(int8(math.Max(-127, math.Min(127, v))))
		}
	}
	return q, scales
}

// addTensor adds an initializer with raw little-endian data and returns
// its (fresh) name.
func (g *graph) addTensor(base string, dt onnx.TensorProto_DataType, dims []int64, raw []byte) string {
	name := g.name(base)
	g.addInit(&onnx.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
	return name
}

func float32Bytes(vals []float32) []byte {
	out := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}
