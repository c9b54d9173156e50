package trainer

import (
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

// ortState is the ONNX Runtime executor kind: every graph of the trainer
// (D step, penalty, G step, MT-CT, G forward, sampler) lowered to ONNX by
// internal/lower and run as one session each.
type ortState struct {
	provider runtime.Provider
	libPath  string
	fallback string // why Auto runs on CPU
	sessions []*lower.Session
	// device holds the state (weights, moments, EMA, gradient and
	// accumulation buffers) in the provider's memory: on CUDA, and on the
	// CPU with SetORTDeviceState (executor_device.go); nil: the state is
	// Go memory wrapped once.
	device *lower.Device
	// moved collects every run's Go<->ONNX Runtime transfers while
	// recording (the bytes-per-iteration test).
	recording bool
	moved     []lower.Transfer
}

// UseExecutor selects what runs the training graphs: ExecutorGorgonia
// (the default) or ExecutorORT on provider (cpu, cuda, or auto: CUDA, else
// CPU with the reason returned). CUDA never falls back. The executor is not
// part of the run's state: a run may be resumed on another. On an error
// the trainer is left on the tape machine.
func (t *Trainer) UseExecutor(name string, provider runtime.Provider, libPath string) (fallback string, err error) {
	switch name {
	case "", ExecutorGorgonia:
		if provider != "" && provider != runtime.CPU {
			return "", fmt.Errorf("executor gorgonia runs on the CPU only; use --executor ort for provider %s", provider)
		}
		return "", t.useTape()
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

// Close releases the executors' resources (ONNX Runtime sessions).
func (t *Trainer) Close() error { return t.useTape() }

// useTape puts every graph on the tape machine.
func (t *Trainer) useTape() error {
	st := t.ort
	t.ort = nil
	if st == nil {
		return nil
	}
	err := st.pull() // the tape machine goes on from the latest state
	if rerr := t.reopen(); err == nil {
		err = rerr
	}
	for _, s := range st.sessions {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}
	if st.device != nil {
		if cerr := st.device.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// useORT opens an ONNX Runtime session for every graph; on an error the
// trainer is left on the tape machine.
func (t *Trainer) useORT(provider runtime.Provider, libPath string) error {
	if err := t.useTape(); err != nil {
		return err
	}
	t.ort = &ortState{provider: provider, libPath: libPath}
	if err := t.openStateDevice(); err != nil {
		_ = t.useTape()
		return err
	}
	if err := t.reopen(); err != nil {
		_ = t.useTape()
		return err
	}
	return nil
}

// open lowers g and opens its session.
func (st *ortState) open(t *Trainer, name string, g graphRunner) (executor, error) {
	l, index, err := t.lowerGraph(name, g)
	if err != nil {
		return nil, err
	}
	bind := lower.Bind{}
	for _, o := range g.outputs() {
		if o.bind != nil {
			bind[o.name] = o.bind
		}
	}
	var s *lower.Session
	if st.device != nil {
		s, err = lower.OpenOn(l, st.device, bind)
	} else {
		s, err = lower.OpenWith(l, t.ortSessionOptions(st.provider), st.libPath, bind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s graph: %w", name, err)
	}
	st.sessions = append(st.sessions, s)
	return &ortExecutor{sess: s, index: index, st: st}, nil
}

// lowerGraph lowers g's outputs (and everything they depend on) to ONNX;
// index maps each output node to its position among the outputs.
func (t *Trainer) lowerGraph(name string, g graphRunner) (*lower.Lowerer, map[*G.Node]int, error) {
	l := lower.New(name)
	l.Ext = (&lowering{t: t, augIn: map[*augSlot]augInputs{}}).ext
	l.MarkState(g.stateNodes()...)
	index := map[*G.Node]int{}
	for _, o := range g.outputs() {
		if err := l.Output(o.node, o.name); err != nil {
			return nil, nil, fmt.Errorf("lower the %s graph: %s: %w", name, o.name, err)
		}
		index[o.node] = len(l.Outputs()) - 1
	}
	return l, index, nil
}

// ortExecutor runs one lowered graph; the outputs of the last run are
// ONNX Runtime's output buffers, valid until the next.
type ortExecutor struct {
	sess  *lower.Session
	index map[*G.Node]int
	outs  [][]float32
	st    *ortState
}

func (e *ortExecutor) run() error {
	outs, err := e.sess.Run()
	if err != nil {
		return err
	}
	e.outs = outs
	if e.st != nil && e.st.recording {
		e.st.moved = append(e.st.moved, e.sess.Moved...)
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

func (e *ortExecutor) close() error { return nil } // sessions are closed with the ortState
