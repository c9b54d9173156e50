package fused

import "github.com/tgan-dev/tgan/onnx"

// crossAttention is one match of the cross-attention subgraph that tgan's
// exporter writes for a Celeba256_gen block (exporter/window.go): queries
// from the block's tokens, keys and values from the z embedding, with no
// shared qkv:
//
//	q [B*N, C] -> Reshape [-1, N, h, d] -> Transpose (0,2,1,3)
//	k [B*E, C] -> Reshape [-1, E, h, d] -> Transpose (0,2,3,1)
//	v [B*E, C] -> Reshape [-1, E, h, d] -> Transpose (0,2,1,3)
//	MatMul(q, k^T) -> Mul scale -> Softmax -> MatMul(., v)
//	  -> Transpose (0,2,1,3) -> Reshape [-1, C] = out
type crossAttention struct {
	q, k, v, out   string
	heads, headDim int64
	queries, keys  int64 // N and E per image
	scale          float32
	scope          string
	nodes          []*onnx.NodeProto
}

// headsView matches value = Transpose(perm)(Reshape(x, [-1, n, h, d])),
// each read once, and returns x, n, h, d and the two nodes.
func (g *graph) headsView(value string, reader *onnx.NodeProto, perm ...int64) (x string, n, h, d int64, nodes []*onnx.NodeProto, ok bool) {
	tr := g.op(value, "Transpose")
	if tr == nil || g.only(value) != reader || !equalInts(intsAttr(tr, "perm"), perm...) {
		return "", 0, 0, 0, nil, false
	}
	rs := g.op(tr.Input[0], "Reshape")
	if rs == nil || g.only(tr.Input[0]) != tr {
		return "", 0, 0, 0, nil, false
	}
	s := g.int64Values(rs.Input[1])
	if len(s) != 4 || s[0] != -1 || s[1] <= 0 || s[2] <= 0 || s[3] <= 0 {
		return "", 0, 0, 0, nil, false
	}
	return rs.Input[0], s[1], s[2], s[3], []*onnx.NodeProto{rs, tr}, true
}

// matchCross matches the cross-attention subgraph around a Softmax node.
func (g *graph) matchCross(sm *onnx.NodeProto) (*crossAttention, bool) {
	if sm.GetDomain() != "" || sm.GetOpType() != "Softmax" || g.dead[sm] {
		return nil, false
	}
	if ax := intAttr(sm, "axis", -1); ax != -1 && ax != 3 {
		return nil, false
	}
	mul := g.op(sm.Input[0], "Mul")
	if mul == nil || g.only(sm.Input[0]) != sm {
		return nil, false
	}
	scale, _, ok := g.scalar(mul.Input[1])
	mm1 := g.op(mul.Input[0], "MatMul")
	if !ok || mm1 == nil || g.only(mul.Input[0]) != mul {
		return nil, false
	}
	mm2 := g.only(sm.Output[0])
	if mm2 == nil || mm2.GetOpType() != "MatMul" || mm2.GetDomain() != "" || mm2.Input[0] != sm.Output[0] {
		return nil, false
	}
	c := &crossAttention{scale: scale, scope: scopeOf(sm.GetName())}
	q, n, h, d, qn, ok1 := g.headsView(mm1.Input[0], mm1, 0, 2, 1, 3)
	k, e, hk, dk, kn, ok2 := g.headsView(mm1.Input[1], mm1, 0, 2, 3, 1)
	v, ev, hv, dv, vn, ok3 := g.headsView(mm2.Input[1], mm2, 0, 2, 1, 3)
	if !ok1 || !ok2 || !ok3 || h != hk || h != hv || d != dk || d != dv || e != ev {
		return nil, false
	}
	to := g.only(mm2.Output[0])
	if to == nil || to.GetOpType() != "Transpose" || !equalInts(intsAttr(to, "perm"), 0, 2, 1, 3) {
		return nil, false
	}
	ro := g.only(to.Output[0])
	if ro == nil || ro.GetOpType() != "Reshape" || ro.Input[0] != to.Output[0] ||
		!equalInts(g.int64Values(ro.Input[1]), -1, h*d) {
		return nil, false
	}
	c.q, c.k, c.v, c.out = q, k, v, ro.Output[0]
	c.queries, c.keys, c.heads, c.headDim = n, e, h, d
	c.nodes = append(append(append(qn, kn...), vn...), mm1, mul, sm, mm2, to, ro)
	return c, true
}

// matchCrossAttentions returns every cross-attention subgraph.
func (g *graph) matchCrossAttentions() []*crossAttention {
	var matches []*crossAttention
	for _, node := range g.gp.Node {
		if c, ok := g.matchCross(node); ok {
			matches = append(matches, c)
		}
	}
	return matches
}

// replaceCross puts com.microsoft.MultiHeadAttention with separate query
// [B, N, C] and key/value [B, E, C] in place of a match (no padding: the
// CUDA kernels' head-size rule only decides which kernel runs).
func (g *graph) replaceCross(c *crossAttention, castFloat bool) {
	for _, n := range c.nodes {
		g.dead[n] = true
	}
	sc := c.scope + "/fused"
	width := c.heads * c.headDim
	in := []string{
		g.unary("Reshape", sc, c.q, g.int64s("fused.shape", -1, c.queries, width)),
		g.unary("Reshape", sc, c.k, g.int64s("fused.shape", -1, c.keys, width)),
		g.unary("Reshape", sc, c.v, g.int64s("fused.shape", -1, c.keys, width)),
	}
	if castFloat {
		for i := range in {
			in[i] = g.cast(sc, in[i], onnx.TensorProto_FLOAT)
		}
	}
	o := g.name(sc + "/cross_attention")
	g.node(MSDomain, "MultiHeadAttention", sc+"/MultiHeadAttention", in, []string{o},
		onnx.AttrInt("num_heads", c.heads), onnx.AttrFloat("scale", c.scale))
	if castFloat {
		o = g.cast(sc, o, onnx.TensorProto_FLOAT16)
	}
	g.node("", "Reshape", sc+"/Reshape", []string{o, g.int64s("fused.shape", -1, width)}, []string{c.out})
}
