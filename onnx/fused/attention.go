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
//	x -> Gemm q, Gemm k, Gemm v [B*n, h*d'] -> Reshape [-1, n, h*d']
//	  -> MultiHeadAttention(num_heads h, scale, attention_bias [1, h, n, n])
//	  -> Reshape [-1, h*d'] = out
//
// The exporter's one qkv Gemm becomes three Gemms on row slices of its
// weight, so that q, k and v come out separately without a Split copying
// them (a qkv of another form is split with Split). d' is d, or d rounded
// up to a multiple of 8 when pad is set (see padRows; the scale stays the
// matched one). castFloat runs MultiHeadAttention in float32 inside a
// float16 graph (ONNX Runtime's CPU provider has no float16 kernel for
// it). It returns whether the heads were padded.
func (g *graph) replaceAttention(a *attention, pad, castFloat bool) bool {
	for _, n := range a.nodes {
		g.dead[n] = true
	}
	sc := a.scope + "/fused"
	qkv, proj := g.qkvGemm(a), g.projGemm(a)
	d := a.headDim
	padded := pad && d%8 != 0 && qkv != nil && proj != nil
	if padded {
		d = padTo8(a.headDim)
		wp := g.inits[proj.Input[1]]
		pp := padColumns(wp, g.name(wp.GetName()+".pad8"), a.heads, a.headDim, d)
		g.addInit(pp)
		proj.Input[1] = pp.GetName()
	}
	width := a.heads * d
	var parts []string
	if qkv != nil {
		parts = g.splitGemm(qkv, a, d)
	} else {
		parts = []string{g.name(sc + "/q"), g.name(sc + "/k"), g.name(sc + "/v")}
		g.node("", "Split", sc+"/Split", []string{a.qkv, g.int64s("fused.split", width, width, width)}, parts,
			onnx.AttrInt("axis", 1))
	}
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
	g.node(MSDomain, "MultiHeadAttention", sc+"/MultiHeadAttention", trimOptional(mha), []string{o},
		onnx.AttrInt("num_heads", a.heads), onnx.AttrFloat("scale", a.scale))
	if castFloat {
		o = g.cast(sc, o, onnx.TensorProto_FLOAT16)
	}
	g.node("", "Reshape", sc+"/Reshape", []string{o, g.int64s("fused.shape", -1, width)}, []string{a.out})
	return padded
}

// qkvGemm returns the Gemm that makes the match's qkv in the exporter's
// form (x W^T, W an initializer [3*h*d, in], no bias) and feeds nothing
// else, or nil.
func (g *graph) qkvGemm(a *attention) *onnx.NodeProto {
	n := g.op(a.qkv, "Gemm")
	if n == nil || len(n.Input) != 2 || !plainGemm(n) || g.liveConsumers(a.qkv) != 0 {
		return nil // (the match is already removed: qkv must have no other reader)
	}
	w := g.inits[n.Input[1]]
	if w == nil || len(w.Dims) != 2 || w.Dims[0] != 3*a.heads*a.headDim {
		return nil
	}
	if _, _, err := rawElements(w); err != nil {
		return nil
	}
	return n
}

// projGemm returns the projection Gemm that reads the match's output in
// the exporter's form (x W^T + b, W an initializer [out, h*d]), or nil.
func (g *graph) projGemm(a *attention) *onnx.NodeProto {
	n := g.only(a.out)
	if n == nil || n.GetOpType() != "Gemm" || n.GetDomain() != "" || n.Input[0] != a.out || !plainGemm(n) {
		return nil
	}
	w := g.inits[n.Input[1]]
	if w == nil || len(w.Dims) != 2 || w.Dims[1] != a.heads*a.headDim {
		return nil
	}
	if _, _, err := rawElements(w); err != nil {
		return nil
	}
	return n
}

// splitGemm replaces the qkv Gemm by three Gemms on the q, k and v row
// blocks of its weight, each padded to head size dp, and returns their
// outputs.
func (g *graph) splitGemm(qkv *onnx.NodeProto, a *attention, dp int64) []string {
	g.dead[qkv] = true
	w := g.inits[qkv.Input[1]]
	sc := scopeOf(qkv.GetName())
	out := make([]string, 3)
	for part, suffix := range []string{"q", "k", "v"} {
		pw := padRows(w, g.name(w.GetName()+"."+suffix), int64(part), a.heads, a.headDim, dp)
		g.addInit(pw)
		out[part] = g.name(sc + "/" + suffix)
		g.node("", "Gemm", sc+"/Gemm_"+suffix, []string{qkv.Input[0], pw.GetName()}, []string{out[part]},
			onnx.AttrInt("transB", 1))
	}
	return out
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

// padRows returns rows part*h*d ... (part+1)*h*d of w [3*h*d, in] (q, k
// or v) with each head's d rows followed by dp-d zero rows: [h*dp, in].
// Zero q and k channels add nothing to q.k, and zero v channels give zero
// output channels, which padColumns makes the projection ignore: the
// padding is exact.
func padRows(w *onnx.TensorProto, name string, part, h, d, dp int64) *onnx.TensorProto {
	raw, size, _ := rawElements(w) // checked by qkvGemm
	row := int(w.Dims[1]) * size
	out := make([]byte, int(h*dp)*row)
	for head := int64(0); head < h; head++ {
		for j := int64(0); j < d; j++ {
			from := int((part*h+head)*d+j) * row
			to := int(head*dp+j) * row
			copy(out[to:to+row], raw[from:from+row])
		}
	}
	return withData(w, name, []int64{h * dp, w.Dims[1]}, out)
}

// padColumns maps column (head, j) of w [out, h*d] to column (head, j) of a
// [out, h*dp] tensor whose other columns are zero.
func padColumns(w *onnx.TensorProto, name string, h, d, dp int64) *onnx.TensorProto {
	raw, size, _ := rawElements(w) // checked by projGemm
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
	return withData(w, name, []int64{int64(rows), int64(outCols)}, out)
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
