package trainer

import (
	"errors"

	G "gorgonia.org/gorgonia"
)

// executor runs one training graph: the inputs are the values of the
// graph's input nodes (weights, batch, z, mask, noise, constants, which
// the trainer writes in place) and the DiffAugment draws of its slot; run
// executes forward and backward, and value reads a node the graph
// declared as an output (cost, gradients, statistics, images) after the
// last run. Gorgonia's tape machine is the reference; executor_ort.go runs
// the same graph lowered to ONNX.
type executor interface {
	run() error
	value(n *G.Node) []float32
	close() error
}

// output is a node an executor must be able to read, with its name in a
// lowered model.
type output struct {
	node *G.Node
	name string
}

// graphRunner is what the trainer opens executors for: a training graph
// (gradNet) or a forward-only generator (fwdNet).
type graphRunner interface {
	graph() *G.ExprGraph
	outputs() []output
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

// value copies: the tape machine may reuse a node's memory on the next run.
func (e *tapeExecutor) value(n *G.Node) []float32 {
	return append([]float32(nil), denseData(n.Value())...)
}

func (e *tapeExecutor) close() error { return e.vm.Close() }

// runnerSlot is one of the trainer's graphs with its executor field.
type runnerSlot struct {
	name string
	g    graphRunner
	exec *executor
}

// runners lists the trainer's graphs, in the order they are opened.
func (t *Trainer) runners() []runnerSlot {
	var out []runnerSlot
	for _, gn := range []*gradNet{t.dTrain, t.gTrain, t.pen, t.srNet} {
		if gn != nil {
			out = append(out, runnerSlot{gn.name, gn, &gn.exec})
		}
	}
	for _, f := range []*fwdNet{t.gFwd, t.sampler} {
		if f != nil {
			out = append(out, runnerSlot{f.name, f, &f.exec})
		}
	}
	return out
}

// openExecutor returns the executor of the trainer's kind for g: the tape
// machine, or g lowered to ONNX and run by ONNX Runtime.
func (t *Trainer) openExecutor(name string, g graphRunner) (executor, error) {
	if t.ort == nil {
		return newTapeExecutor(g.graph()), nil
	}
	return t.ort.open(t, name, g)
}

// reopen replaces every graph's executor with one of the trainer's kind.
func (t *Trainer) reopen() error {
	var errs []error
	for _, r := range t.runners() {
		if *r.exec != nil {
			errs = append(errs, (*r.exec).close())
		}
		e, err := t.openExecutor(r.name, r.g)
		if err != nil {
			return err
		}
		*r.exec = e
	}
	return errors.Join(errs...)
}
