package runtime

import (
	"errors"
	"fmt"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Options configures an [Env]: the library it loads, and the sessions of
// the models [Env.OpenModel] opens ([Options.SessionOptions]). The zero
// value runs on CPU with the library found by [FindLibrary] and one
// intra-op thread per usable core.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library (the --ort-lib flag).
	// Empty: search as described by FindLibrary.
	LibraryPath string
	// Provider is the execution provider of the models this Env opens.
	// Empty means CPU.
	Provider Provider
	// DeviceID is the CUDA device for CUDA and Auto. Default 0.
	DeviceID int
	// IntraOpThreads is the number of threads one operator may use.
	// 0 (the default) means [UsableCores]: ONNX Runtime's own default
	// counts physical cores and used one thread on a 2-vCPU VM.
	IntraOpThreads int
}

// global is onnxruntime_go's process-wide state: one loaded library and one
// environment, shared by every open Env and counted here.
var global struct {
	mu   sync.Mutex
	refs int
	lib  string
}

// Env is an open ONNX Runtime environment. Models are opened from it and it
// must be closed when done. Several Envs may be open at once in a process as
// long as they use the same library; the environment is destroyed when the
// last one closes.
type Env struct {
	opts Options
	lib  string

	mu     sync.Mutex
	closed bool
	models map[*Model]struct{}
}

// Open loads the ONNX Runtime library and initialises its environment.
func Open(opts Options) (*Env, error) {
	p, err := ParseProvider(string(opts.Provider))
	if err != nil {
		return nil, err
	}
	opts.Provider = p
	if opts.DeviceID < 0 {
		return nil, fmt.Errorf("runtime: CUDA device id %d: must be 0 or more", opts.DeviceID)
	}
	if opts.IntraOpThreads < 0 {
		return nil, fmt.Errorf("runtime: %d intra-op threads: must be 0 (all usable cores) or more", opts.IntraOpThreads)
	}
	if opts.IntraOpThreads == 0 {
		opts.IntraOpThreads = UsableCores()
	}
	lib, err := FindLibrary(opts.LibraryPath, p != CPU)
	if err != nil {
		return nil, err
	}
	global.mu.Lock()
	defer global.mu.Unlock()
	if global.refs > 0 {
		if global.lib != lib {
			return nil, fmt.Errorf("runtime: ONNX Runtime is already loaded from %s in this process; cannot also load %s",
				global.lib, lib)
		}
	} else {
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return nil, fmt.Errorf("runtime: load ONNX Runtime %s: %w", lib, err)
		}
		global.lib = lib
	}
	global.refs++
	return &Env{opts: opts, lib: lib, models: map[*Model]struct{}{}}, nil
}

// Close closes every model still open from e and releases the environment
// when no other Env uses it. Calling Close twice is harmless.
func (e *Env) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	models := e.models
	e.models = nil
	e.mu.Unlock()

	var errs []error
	for m := range models {
		errs = append(errs, m.close())
	}
	global.mu.Lock()
	defer global.mu.Unlock()
	global.refs--
	if global.refs == 0 {
		if err := ort.DestroyEnvironment(); err != nil {
			errs = append(errs, fmt.Errorf("runtime: destroy environment: %w", err))
		}
		global.lib = ""
	}
	return errors.Join(errs...)
}

// LibraryPath returns the absolute path of the loaded ONNX Runtime library.
func (e *Env) LibraryPath() string { return e.lib }

// Version returns the loaded ONNX Runtime version, for example "1.30.0".
func (e *Env) Version() string { return ort.GetVersion() }

// Options returns the options e was opened with, defaults filled in.
func (e *Env) Options() Options { return e.opts }

// SessionOptions are the options of the sessions OpenModel creates:
// [InferenceSessionOptions] on o's provider, device and threads.
func (o Options) SessionOptions() SessionOptions {
	so := InferenceSessionOptions(o.Provider)
	so.DeviceID, so.IntraOpThreads = o.DeviceID, o.IntraOpThreads
	return so
}

func (e *Env) track(m *Model) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("runtime: environment is closed")
	}
	e.models[m] = struct{}{}
	return nil
}

func (e *Env) untrack(m *Model) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.models, m)
}
