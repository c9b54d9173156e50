package trainer

import (
	G "gorgonia.org/gorgonia"
)

// executor runs one training graph: the inputs are the values of the
// graph's input nodes (weights, batch, z, mask, noise, which the trainer
// writes in place), run executes forward and backward, and value reads an
// output node (cost, gradients, input gradient) of the last run. The tape
// machine is the reference; executor_ort.go runs the same graph lowered to
// ONNX.
type executor interface {
	run() error
	value(n *G.Node) []float32
	close() error
}

// tapeExecutor is Gorgonia's tape machine over the whole graph.
type tapeExecutor struct{ vm G.VM }

func newTapeExecutor(g *G.ExprGraph) *tapeExecutor {
	return &tapeExecutor{vm: G.NewTapeMachine(g)}
}

func (e *tapeExecutor) run() error {
	e.vm.Reset()
	return e.vm.RunAll()
}

func (e *tapeExecutor) value(n *G.Node) []float32 { return denseData(n.Value()) }

func (e *tapeExecutor) close() error { return e.vm.Close() }
