package fused

import (
	"strings"

	"github.com/tgan-dev/tgan/onnx"
)

// attention is one match of the attention subgraph that tgan's exporter
// writes for a block (exporter/blocks.go):
//
//	qkv [B*n, 3C] -> Reshape [-1, n, 3, h, d] -> Transpose (2,0,3,1,4)
//	  -> Gather 0 / 1 / 2 (q, k, v) -> Transpose k (0,1,3,2)
//	  -> MatMul(q, k^T) -> Mul scale [-> Add bias [h, n, n]] -> Softmax
//	  -> MatMul(., v) -> Transpose (0,2,1,3) -> Reshape [-1, C] = out
type attention struct {
	qkv, out, bias         string
	heads, tokens, headDim int64
	scale                  float32
	dtype                  onnx.TensorProto_DataType
	scope                  string
	nodes                  []*onnx.NodeProto // the matched nodes, replaced as a whole
}

// matchAttention matches the subgraph around a Softmax node. Every
// intermediate value must be read only inside the subgraph.
func (g *graph) matchAttention(sm *onnx.NodeProto) (*attention, bool) {
	if sm.GetDomain() != "" || sm.GetOpType() != "Softmax" || g.dead[sm] {
		return nil, false
	}
	if ax := intAttr(sm, "axis", -1); ax != -1 && ax != 3 {
		return nil, false
	}
	a := &attention{scope: scopeOf(sm.GetName())}
	scaled := sm.Input[0]
	var add *onnx.NodeProto
	if add = g.op(scaled, "Add"); add != nil {
		if g.only(scaled) != sm {
			return nil, false
		}
		a.bias, scaled = add.Input[1], add.Input[0]
	}
	mul := g.op(scaled, "Mul")
	if mul == nil || g.only(scaled) != firstNonNil(add, sm) {
		return nil, false
	}
	scale, dtype, ok := g.scalar(mul.Input[1])
	if !ok {
		return nil, false
	}
	a.scale, a.dtype = scale, dtype
	mm1 := g.op(mul.Input[0], "MatMul")
	if mm1 == nil || g.only(mul.Input[0]) != mul {
		return nil, false
	}
	kt := g.op(mm1.Input[1], "Transpose")
	if kt == nil || g.only(mm1.Input[1]) != mm1 || !equalInts(intsAttr(kt, "perm"), 0, 1, 3, 2) {
		return nil, false
	}
	mm2 := g.only(sm.Output[0])
	if mm2 == nil || mm2.GetOpType() != "MatMul" || mm2.GetDomain() != "" || mm2.Input[0] != sm.Output[0] {
		return nil, false
	}
	gathers := [3]*onnx.NodeProto{}
	for i, v := range []struct {
		value  string
		reader *onnx.NodeProto
	}{{mm1.Input[0], mm1}, {kt.Input[0], kt}, {mm2.Input[1], mm2}} {
		gathers[i] = g.op(v.value, "Gather")
		if gathers[i] == nil || g.only(v.value) != v.reader ||
			intAttr(gathers[i], "axis", 0) != 0 || !g.scalarIndex(gathers[i].Input[1], int64(i)) {
			return nil, false
		}
	}
	t := gathers[0].Input[0]
	if gathers[1].Input[0] != t || gathers[2].Input[0] != t || g.liveConsumers(t) != 3 {
		return nil, false
	}
	tr := g.op(t, "Transpose")
	if tr == nil || !equalInts(intsAttr(tr, "perm"), 2, 0, 3, 1, 4) {
		return nil, false
	}
	rs := g.op(tr.Input[0], "Reshape")
	if rs == nil || g.only(tr.Input[0]) != tr {
		return nil, false
	}
	shape := g.int64Values(rs.Input[1])
	if len(shape) != 5 || shape[0] != -1 || shape[2] != 3 || shape[1] <= 0 || shape[3] <= 0 || shape[4] <= 0 {
		return nil, false
	}
	a.qkv, a.tokens, a.heads, a.headDim = rs.Input[0], shape[1], shape[3], shape[4]
	to := g.only(mm2.Output[0])
	if to == nil || to.GetOpType() != "Transpose" || !equalInts(intsAttr(to, "perm"), 0, 2, 1, 3) {
		return nil, false
	}
	ro := g.only(to.Output[0])
	if ro == nil || ro.GetOpType() != "Reshape" || ro.Input[0] != to.Output[0] ||
		!equalInts(g.int64Values(ro.Input[1]), -1, a.heads*a.headDim) {
		return nil, false
	}
	a.out = ro.Output[0]
	a.nodes = []*onnx.NodeProto{rs, tr, gathers[0], gathers[1], gathers[2], kt, mm1, mul, sm, mm2, to, ro}
	if add != nil {
		a.nodes = append(a.nodes, add)
	}
	return a, true
}

func firstNonNil(a, b *onnx.NodeProto) *onnx.NodeProto {
	if a != nil {
		return a
	}
	return b
}

// scalarIndex reports whether name is a rank-0 int64 initializer holding v.
func (g *graph) scalarIndex(name string, v int64) bool {
	t := g.inits[name]
	vals := g.int64Values(name)
	return t != nil && len(t.Dims) == 0 && len(vals) == 1 && vals[0] == v
}

// scopeOf returns the scope part of a node name ("blocks.0/Softmax_12" ->
// "blocks.0"), so the new nodes show up under the same block in profiles.
func scopeOf(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[:i]
	}
	return "attn"
}

// padTo8 is the head size the CUDA fused kernels need: d rounded up to a
// multiple of 8.
func padTo8(d int64) int64 { return (d + 7) / 8 * 8 }

// replaceAttention puts com.microsoft.MultiHeadAttention in place of a
// match:
//
//	qkv -> Split (axis 1) -> q, k, v [B*n, h*d'] -> Reshape [-1, n, h*d']
//	    -> MultiHeadAttention(num_heads h, scale, attention_bias [1, h, n, n])
//	    -> Reshape [-1, h*d'] = out
//
// d' is d, or d rounded up to 8 when pad is set and the projections around
// the block can be padded (padHeads); the scale stays the matched one.
// castFloat runs MultiHeadAttention in float32 inside a float16 graph
// (ONNX Runtime's CPU provider has no float16 kernel for it). It returns
// whether the heads were padded.
func (g *graph) replaceAttention(a *attention, pad, castFloat bool) bool {
	for _, n := range a.nodes {
		g.dead[n] = true
	}
	d := a.headDim
	padded := pad && d%8 != 0 && g.padHeads(a)
	if padded {
		d = padTo8(a.headDim)
	}
	width := a.heads * d
	sc := a.scope + "/fused"
	parts := []string{g.name(sc + "/q"), g.name(sc + "/k"), g.name(sc + "/v")}
	g.node("", "Split", sc+"/Split", []string{a.qkv, g.int64s("fused.split", width, width, width)}, parts,
		onnx.AttrInt("axis", 1))
	tokens := g.int64s("fused.shape", -1, a.tokens, width)
	mha := make([]string, 6)
	for i, p := range parts {
		mha[i] = g.unary("Reshape", sc, p, tokens)
	}
	if a.bias != "" {
		mha[5] = g.unary("Reshape", sc, a.bias, g.int64s("fused.shape", 1, a.heads, a.tokens, a.tokens))
	}
	if castFloat {
		for _, i := range []int{0, 1, 2, 5} {
			if mha[i] != "" {
				mha[i] = g.cast(sc, mha[i], onnx.TensorProto_FLOAT)
			}
		}
	}
	o := g.name(sc + "/attention")
	g.node("com.microsoft", "MultiHeadAttention", sc+"/MultiHeadAttention", trimOptional(mha), []string{o},
		onnx.AttrInt("num_heads", a.heads), onnx.AttrFloat("scale", a.scale))
	if castFloat {
		o = g.cast(sc, o, onnx.TensorProto_FLOAT16)
	}
	g.node("", "Reshape", sc+"/Reshape", []string{o, g.int64s("fused.shape", -1, width)}, []string{a.out})
	return padded
}

// unary adds a one-output ai.onnx node and returns its output.
func (g *graph) unary(op, scope string, inputs ...string) string {
	out := g.name(scope + "/" + strings.ToLower(op))
	g.node("", op, scope+"/"+op, inputs, []string{out})
	return out
}

func (g *graph) cast(scope, x string, to onnx.TensorProto_DataType) string {
	out := g.name(scope + "/cast")
	g.node("", "Cast", scope+"/Cast", []string{x}, []string{out}, onnx.AttrInt("to", int64(to)))
	return out
}

// trimOptional drops trailing empty optional inputs.
func trimOptional(in []string) []string {
	for len(in) > 0 && in[len(in)-1] == "" {
		in = in[:len(in)-1]
	}
	return in
}

// padHeads zero-pads each head of the block from d to d' = padTo8(d)
// channels, exactly: the qkv Gemm's weight [3*h*d, in] gets zero rows (so
// q, k, v get zero channels, which add nothing to q.k and produce zero
// output channels) and the projection Gemm's weight [out, h*d] gets zero
// columns for them. It returns false, changing nothing, unless both Gemms
// have the exporter's form (transB=1 on an initializer weight, qkv without
// bias) and read nothing else.
func (g *graph) padHeads(a *attention) bool {
	qkv := g.op(a.qkv, "Gemm")
	proj := g.only(a.out)
	if qkv == nil || proj == nil || proj.GetOpType() != "Gemm" || proj.Input[0] != a.out {
		return false
	}
	if g.liveConsumers(a.qkv) != 0 || len(qkv.Input) != 2 || !plainGemm(qkv) || !plainGemm(proj) {
		return false // qkv must feed nothing but the (now removed) match
	}
	h, d, dp := a.heads, a.headDim, padTo8(a.headDim)
	wq, wp := g.inits[qkv.Input[1]], g.inits[proj.Input[1]]
	if wq == nil || wp == nil || len(wq.Dims) != 2 || len(wp.Dims) != 2 || wq.Dims[0] != 3*h*d || wp.Dims[1] != h*d {
		return false
	}
	pq, err := padRows(wq, g.name(wq.GetName()+".pad8"), h, d, dp)
	if err != nil {
		return false
	}
	pp, err := padColumns(wp, g.name(wp.GetName()+".pad8"), h, d, dp)
	if err != nil {
		return false
	}
	g.addInit(pq)
	g.addInit(pp)
	qkv.Input[1], proj.Input[1] = pq.GetName(), pp.GetName()
	return true
}

// plainGemm reports a Gemm y = x W^T (+ b): transB=1, no transA, alpha and
// beta 1.
func plainGemm(n *onnx.NodeProto) bool {
	if intAttr(n, "transB", 0) != 1 || intAttr(n, "transA", 0) != 0 {
		return false
	}
	for _, name := range []string{"alpha", "beta"} {
		if a := attr(n, name); a != nil && a.GetF() != 1 {
			return false
		}
	}
	return true
}

// padRows maps row (s, head, j) of w [3*h*d, in] to row (s, head, j) of a
// [3*h*dp, in] tensor whose other rows are zero.
func padRows(w *onnx.TensorProto, name string, h, d, dp int64) (*onnx.TensorProto, error) {
	raw, size, err := rawElements(w)
	if err != nil {
		return nil, err
	}
	row := int(w.Dims[1]) * size
	out := make([]byte, int(3*h*dp)*row)
	for s := int64(0); s < 3; s++ {
		for head := int64(0); head < h; head++ {
			for j := int64(0); j < d; j++ {
				from := int((s*h+head)*d+j) * row
				to := int((s*h+head)*dp+j) * row
				copy(out[to:to+row], raw[from:from+row])
			}
		}
	}
	return withData(w, name, []int64{3 * h * dp, w.Dims[1]}, out), nil
}

// padColumns maps column (head, j) of w [out, h*d] to column (head, j) of a
// [out, h*dp] tensor whose other columns are zero.
func padColumns(w *onnx.TensorProto, name string, h, d, dp int64) (*onnx.TensorProto, error) {
	raw, size, err := rawElements(w)
	if err != nil {
		return nil, err
	}
	rows, in, outCols := int(w.Dims[0]), int(h*d), int(h*dp)
	out := make([]byte, rows*outCols*size)
	for r := 0; r < rows; r++ {
		for head := 0; head < int(h); head++ {
			from := (r*in + head*int(d)) * size
			to := (r*outCols + head*int(dp)) * size
			n := int(d) * size
			copy(out[to:to+n], raw[from:from+n])
		}
	}
	return withData(w, name, []int64{int64(rows), int64(outCols)}, out), nil
}

func withData(like *onnx.TensorProto, name string, dims []int64, raw []byte) *onnx.TensorProto {
	return &onnx.TensorProto{Name: &name, DataType: like.DataType, Dims: dims, RawData: raw}
}

// matchAttentions returns every attention subgraph of the exporter's form.
// Matches never share nodes: each is reached from its own Softmax through
// values that have a single reader.
func (g *graph) matchAttentions() []*attention {
	var matches []*attention
	for _, node := range g.gp.Node {
		if a, ok := g.matchAttention(node); ok {
			matches = append(matches, a)
		}
	}
	return matches
}
