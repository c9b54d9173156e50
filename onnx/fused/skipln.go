package fused

import "github.com/tgan-dev/tgan/onnx"

// fuseSkipLayerNorm replaces each residual Add whose sum feeds a
// LayerNormalization by com.microsoft.SkipLayerNormalization, which
// computes the sum and its normalisation in one pass and also returns the
// sum (output 3) for the other readers: in a pre-norm block the sum is
// both the next LayerNorm's input and the residual stream, the case ONNX
// Runtime's own SkipLayerNorm fusion leaves alone. Only Adds of two
// computed values (not initializers: those are positional embeddings and
// biases) of the last-axis LayerNorm are taken. It returns how many it
// replaced.
func (g *graph) fuseSkipLayerNorm() int {
	count := 0
	for _, ln := range g.gp.Node {
		if ln.GetDomain() != "" || ln.GetOpType() != "LayerNormalization" || g.dead[ln] || len(ln.Input) != 3 ||
			len(ln.Output) != 1 {
			continue
		}
		if intAttr(ln, "axis", -1) != -1 {
			continue
		}
		add := g.op(ln.Input[0], "Add")
		if add == nil || g.inits[add.Input[0]] != nil || g.inits[add.Input[1]] != nil ||
			g.producer[add.Input[0]] == nil || g.producer[add.Input[1]] == nil {
			continue
		}
		sum := add.Output[0]
		outputs := []string{ln.Output[0]}
		if g.liveConsumers(sum) > 1 {
			outputs = []string{ln.Output[0], "", "", sum}
		}
		eps := float32(1e-5)
		if a := attr(ln, "epsilon"); a != nil {
			eps = a.GetF()
		}
		g.dead[add], g.dead[ln] = true, true
		g.node("com.microsoft", "SkipLayerNormalization", scopeOf(ln.GetName())+"/SkipLayerNormalization",
			[]string{add.Input[0], add.Input[1], ln.Input[1], ln.Input[2]}, outputs,
			onnx.AttrFloat("epsilon", eps))
		count++
	}
	return count
}
