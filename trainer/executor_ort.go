package trainer

import (
	"errors"
	"fmt"
	"time"

	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/runtime"
	G "gorgonia.org/gorgonia"
)

// Executor names for UseExecutor and the --executor flag.
const (
	ExecutorGorgonia = "gorgonia" // Gorgonia's tape machine (the reference)
	ExecutorORT      = "ort"      // the same graphs lowered to ONNX, run by ONNX Runtime
)

// ortState holds the ONNX Runtime sessions that replace the tape machines.
// The D step, the penalty and the G step (G, DiffAugment and D inlined in
// one model) each become one session; G's forward pass for the fakes is a
// fourth. The MT-CT path (srNet) stays on the tape machine.
type ortState struct {
	provider runtime.Provider
	libPath  string
	fallback string // why Auto runs on CPU
	gFwd     *lower.Session
	sampler  *lower.Session      // the sample grids' generator, opened on first use
	gSlot    *augSlot            // the G step's augmentation, drawn before the run
	seeds    map[*extLoss]string // gradient seeds of the lowered loss ops
	sessions []*lower.Session
}

// UseExecutor selects what runs the training graphs: ExecutorGorgonia
// (the default) or ExecutorORT on provider (cpu, cuda, or auto: CUDA, else
// CPU with the reason returned). CUDA never falls back. The executor is not
// part of the run's state: a run may be resumed on another.
func (t *Trainer) UseExecutor(name string, provider runtime.Provider, libPath string) (fallback string, err error) {
	switch name {
	case "", ExecutorGorgonia:
		if provider != "" && provider != runtime.CPU {
			return "", fmt.Errorf("executor gorgonia runs on the CPU only; use --executor ort for provider %s", provider)
		}
		return "", t.closeORT()
	case ExecutorORT:
	default:
		return "", fmt.Errorf("unknown executor %q (want %s or %s)", name, ExecutorGorgonia, ExecutorORT)
	}
	if provider == runtime.Auto {
		cudaErr := t.useORT(runtime.CUDA, libPath)
		if cudaErr == nil {
			return "", nil
		}
		if err := t.useORT(runtime.CPU, libPath); err != nil {
			return "", err
		}
		t.ort.fallback = cudaErr.Error()
		return t.ort.fallback, nil
	}
	if provider == "" {
		provider = runtime.CPU
	}
	return "", t.useORT(provider, libPath)
}

// ExecutorName describes the executor in use, for logs.
func (t *Trainer) ExecutorName() string {
	if t.ort == nil {
		return ExecutorGorgonia
	}
	return fmt.Sprintf("%s (%s)", ExecutorORT, t.ort.provider)
}

// ExecutorIOTime is the time the ONNX Runtime executor has spent moving
// data between Go and ONNX Runtime (0 on the tape machine).
func (t *Trainer) ExecutorIOTime() time.Duration {
	var d time.Duration
	if t.ort != nil {
		for _, s := range t.ort.sessions {
			d += s.IOTime
		}
	}
	return d
}

// Close releases the ONNX Runtime sessions, if any.
func (t *Trainer) Close() error { return t.closeORT() }

func (t *Trainer) closeORT() error {
	if t.ort == nil {
		return nil
	}
	var errs []error
	for _, s := range t.ort.sessions {
		errs = append(errs, s.Close())
	}
	t.ort = nil
	for _, gn := range []*gradNet{t.dTrain, t.gTrain, t.pen.grad()} {
		if gn != nil {
			if _, ok := gn.exec.(*ortExecutor); ok {
				gn.exec = newTapeExecutor(gn.net.Graph)
			}
		}
	}
	return errors.Join(errs...)
}

func (p *penaltyNet) grad() *gradNet {
	if p == nil {
		return nil
	}
	return p.gradNet
}

// loweredGraph is one training graph lowered to ONNX, with the executor
// (and the net it replaces) waiting for its session.
type loweredGraph struct {
	name string
	l    *lower.Lowerer
	gn   *gradNet // nil for the G forward graph
	exec *ortExecutor
}

// lowerAll lowers the D step, the G step (with D inlined), the penalty and
// G's forward pass for st.
func (t *Trainer) lowerAll(st *ortState) ([]loweredGraph, error) {
	nets := []struct {
		name string
		gn   *gradNet
	}{{"d_step", t.dTrain}, {"g_step", t.gTrain}}
	if t.pen != nil {
		nets = append(nets, struct {
			name string
			gn   *gradNet
		}{"penalty", t.pen.gradNet})
	}
	var out []loweredGraph
	for _, n := range nets {
		e := &ortExecutor{index: map[*G.Node]int{}}
		lw := &lowering{t: t, st: st, exec: e, augIn: map[*augSlot]augInputs{}}
		l := lower.New(n.name)
		l.Ext = lw.ext
		if err := lowerGradNet(l, n.gn); err != nil {
			return nil, fmt.Errorf("lower the %s graph: %w", n.name, err)
		}
		e.indexOutputs(l, n.gn)
		if n.gn == t.gTrain {
			e.indexLeak(l, t.dGen) // GradLeak: D's gradients of the G loss
		}
		out = append(out, loweredGraph{name: n.name, l: l, gn: n.gn, exec: e})
	}
	l := lower.New("g_forward")
	if err := l.Output(t.gFwd.Output, "image"); err != nil {
		return nil, fmt.Errorf("lower the G forward graph: %w", err)
	}
	return append(out, loweredGraph{name: "g_forward", l: l}), nil
}

// useORT lowers every training graph and opens its session; on an error
// the trainer is left on the tape machine.
func (t *Trainer) useORT(provider runtime.Provider, libPath string) error {
	if err := t.closeORT(); err != nil {
		return err
	}
	st := &ortState{provider: provider, libPath: libPath, gSlot: &augSlot{}, seeds: map[*extLoss]string{}}
	graphs, err := t.lowerAll(st)
	if err != nil {
		return err
	}
	for _, g := range graphs {
		s, err := lower.Open(g.l, provider, libPath)
		if err != nil {
			for _, s := range st.sessions {
				s.Close()
			}
			return fmt.Errorf("%s graph: %w", g.name, err)
		}
		st.sessions = append(st.sessions, s)
		if g.gn == nil {
			st.gFwd = s
		} else {
			g.exec.sess = s
		}
	}
	for _, g := range graphs {
		if g.gn != nil {
			g.gn.exec.close()
			g.gn.exec = g.exec
		}
	}
	t.ort = st
	return nil
}

// lowerGradNet declares a net's outputs: the cost, the parameter gradients
// and (when compiled with it) the input gradient.
func lowerGradNet(l *lower.Lowerer, gn *gradNet) error {
	if err := l.Output(gn.cost, "cost"); err != nil {
		return err
	}
	for i, g := range gn.grads {
		if err := l.Output(g, "grad/"+gn.names[i]); err != nil {
			return err
		}
	}
	if gn.inGrad != nil {
		return l.Output(gn.inGrad, "input_grad")
	}
	return nil
}

// fakes is G's forward pass on z (the D step's fakes), with G's attention
// noise drawn first. ONNX Runtime reads the noise inputs' values as it
// reads z's.
func (t *Trainer) fakes(z []float32) ([]float32, error) {
	t.drawNoise("g/fake", t.gFwd)
	if t.ort == nil {
		return t.gFwd.Forward(z)
	}
	in := denseData(t.gFwd.Input.Value())
	if len(z) != len(in) {
		return nil, fmt.Errorf("z has %d values, G takes %d", len(z), len(in))
	}
	copy(in, z)
	outs, err := t.ort.gFwd.Run()
	if err != nil {
		return nil, fmt.Errorf("G forward: %w", err)
	}
	return outs[0], nil
}

// sample runs the sampling generator (AvgGen, inference build) on z, through
// ONNX Runtime when it runs the training graphs.
func (t *Trainer) sample(z []float32) ([]float32, error) {
	if t.ort == nil {
		return t.sampler.Forward(z)
	}
	if t.ort.sampler == nil {
		l := lower.New("sampler")
		if err := l.Output(t.sampler.Output, "image"); err != nil {
			return nil, fmt.Errorf("lower the sampling generator: %w", err)
		}
		s, err := lower.Open(l, t.ort.provider, t.ort.libPath)
		if err != nil {
			return nil, fmt.Errorf("sampling generator: %w", err)
		}
		t.ort.sessions = append(t.ort.sessions, s)
		t.ort.sampler = s
	}
	copy(denseData(t.sampler.Input.Value()), z)
	outs, err := t.ort.sampler.Run()
	if err != nil {
		return nil, fmt.Errorf("sampling generator: %w", err)
	}
	return outs[0], nil
}

// beforeGTrain makes, before the lowered G step runs, the random draws that
// the tape machine makes inside throughD (same source, same order).
func (t *Trainer) beforeGTrain() {
	if t.ort != nil {
		t.ort.gSlot.p = t.gStepRandoms(t.Config.ImageSize)
	}
}

// ortExecutor runs one lowered graph. after holds the Go loss functions
// that record statistics (t.dl, t.gl) from the logits the graph outputs.
type ortExecutor struct {
	sess  *lower.Session
	index map[*G.Node]int
	outs  [][]float32
	after []func(outs [][]float32) error
}

func (e *ortExecutor) indexOutputs(l *lower.Lowerer, gn *gradNet) {
	pos := map[string]int{}
	for i, name := range l.Outputs() {
		pos[name] = i
	}
	e.index[gn.cost] = pos["cost"]
	for i, g := range gn.grads {
		e.index[g] = pos["grad/"+gn.names[i]]
	}
	if gn.inGrad != nil {
		e.index[gn.inGrad] = pos["input_grad"]
	}
}

func (e *ortExecutor) run() error {
	outs, err := e.sess.Run()
	if err != nil {
		return err
	}
	e.outs = outs
	for _, f := range e.after {
		if err := f(outs); err != nil {
			return err
		}
	}
	return nil
}

func (e *ortExecutor) value(n *G.Node) []float32 {
	i, ok := e.index[n]
	if !ok || e.outs == nil {
		panic(fmt.Sprintf("trainer: node %s is not an output of the ONNX Runtime graph", n.Name()))
	}
	return e.outs[i]
}

func (e *ortExecutor) close() error { return nil } // sessions are closed by closeORT
