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
// lowered model. With bind set, the executor writes the node's value into
// bind at every run (gradient buffers, and the update's state in place),
// and Go does not read it back.
type output struct {
	node *G.Node
	name string
	bind []float32
}

// graphRunner is what the trainer opens executors for: a training graph
// (gradNet), a forward-only generator (fwdNet), or an accumulation, norm
// or update graph (sumGraph). stateNodes are its inputs whose memory stays
// put between runs (weights, optimizer state, gradient buffers).
type graphRunner interface {
	graph() *G.ExprGraph
	outputs() []output
	stateNodes() G.Nodes
}

// tapeExecutor is Gorgonia's tape machine over the whole graph; after each
// run it copies the bound outputs into their buffers.
type tapeExecutor struct {
	vm    G.VM
	binds []output
}

func newTapeExecutor(r graphRunner) *tapeExecutor {
	var opts []G.VMOpt
	if _, ok := r.(*sumGraph); ok {
		// The update's outputs (new m, v, w) are also read by later nodes,
		// and the tape machine reuses a node's memory after its last read:
		// TraceExec keeps each node's own value.
		opts = append(opts, G.TraceExec())
	}
	e := &tapeExecutor{vm: G.NewTapeMachine(r.graph(), opts...)}
	for _, o := range r.outputs() {
		if o.bind != nil {
			e.binds = append(e.binds, o)
		}
	}
	return e
}

func (e *tapeExecutor) run() error {
	e.vm.Reset()
	if err := e.vm.RunAll(); err != nil {
		return err
	}
	for _, o := range e.binds {
		copy(o.bind, denseData(o.node.Value()))
	}
	return nil
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
	sums := []*sumGraph{t.dAccNet, t.leakNet, t.gAccNet}
	for _, u := range []*updater{t.dUpd, t.gUpd} {
		if u != nil {
			sums = append(sums, u.norm, u.update)
		}
	}
	for _, s := range sums {
		if s != nil {
			out = append(out, runnerSlot{s.name, s, &s.exec})
		}
	}
	return out
}

// openExecutor returns the executor of the trainer's kind for g: the tape
// machine, or g lowered to ONNX and run by ONNX Runtime.
func (t *Trainer) openExecutor(name string, g graphRunner) (executor, error) {
	if t.ort == nil {
		return newTapeExecutor(g), nil
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
