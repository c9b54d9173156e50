package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tgan-dev/tgan/onnx/fused"
)

// SessionOptions configures one ONNX Runtime session: every session tgan
// creates, for inference ([Env.OpenModel]) and for training
// (internal/lower), is built from these fields by [Env.NewSession] or
// [Env.OpenSession], in one place. Start from [InferenceSessionOptions] or
// [TrainingSessionOptions], which give each use its defaults explicitly,
// and change fields. The environment variables described at [ApplyEnv]
// override some fields when the session is created.
type SessionOptions struct {
	// Provider is CPU, CUDA (any failure to enable it is an error) or Auto
	// (CUDA, else CPU with the reason in [Session.FallbackReason]).
	Provider Provider
	// DeviceID is the CUDA device (CUDA and Auto); 0 or more.
	DeviceID int
	// IntraOpThreads is the number of threads one operator may use: 0 means
	// [UsableCores], -1 (ORTDefaultThreads) leaves ONNX Runtime's own
	// default (its count of physical cores).
	IntraOpThreads int
	// Spinning lets idle intra-op threads spin while they wait for work
	// (ONNX Runtime's default). Off, they sleep: the cores stay free for
	// Go code between runs and for other processes.
	Spinning bool
	// CPUArena keeps a memory arena per session for CPU allocations (ONNX
	// Runtime's default). Off, memory is returned between runs.
	CPUArena bool
	// TF32 lets the CUDA provider round the inputs of float32
	// MatMul/Gemm/Conv to TF32 (ONNX Runtime's default); off, float32
	// computes in float32, as PyTorch does for matrix products.
	TF32 bool
	// ProfilePrefix, when set, turns on ONNX Runtime's profiler: the
	// session writes a Chrome-trace JSON file named from this path prefix
	// when it is closed, with the provider, operator and time of every node
	// per run (host-side time for the CUDA provider's asynchronous kernels).
	ProfilePrefix string
	// Fuse runs a tgan export in ONNX Runtime's fused form for the provider
	// (package onnx/fused: one MultiHeadAttention per block,
	// SkipLayerNormalization on CUDA). A file that is not a tgan export, or
	// whose graph does not match its tgan.config, or one already fused, runs
	// as it is. [Session.Fused] (metadata key [KeyFused]) says which form runs.
	Fuse bool
}

// ORTDefaultThreads, as SessionOptions.IntraOpThreads, leaves the intra-op
// thread count to ONNX Runtime.
const ORTDefaultThreads = -1

// InferenceSessionOptions are the defaults of a session that runs an
// exported model (tgan infer, score, serve, bench, eval): all cores
// (UsableCores), idle threads spinning and a CPU arena (ONNX Runtime's
// defaults, the fastest for back-to-back runs), float32 on CUDA (no TF32),
// and a tgan file run in its fused form.
func InferenceSessionOptions(p Provider) SessionOptions {
	return SessionOptions{Provider: p, Spinning: true, CPUArena: true, Fuse: true}
}

// TrainingSessionOptions are the defaults of a session that runs a lowered
// training graph (internal/lower): ONNX Runtime's own thread count, idle
// threads asleep (between runs the trainer works in Go, and spinning
// threads took those cores away), no CPU arena (the trainer's sessions run
// one after another and each arena would keep its own peak: tiny, batch 16,
// 0.65 GB max RSS with arenas, 0.45 GB without, same speed), float32 on
// CUDA, and the graph as it is (no fused rewrite).
func TrainingSessionOptions(p Provider) SessionOptions {
	return SessionOptions{Provider: p, IntraOpThreads: ORTDefaultThreads}
}

// The environment variables that override SessionOptions (see ApplyEnv).
const (
	// SpinEnv overrides Spinning: "0", "off", "false" or "no" stops idle
	// intra-op threads from spinning; "1", "on", "true" or "yes" lets them
	// spin. On a machine with more runnable threads than cores the spinning
	// threads take time from the working ones; with it off the generators
	// took 0.7-0.8x the time there (BENCHMARKS.md, issue 15).
	SpinEnv = "TGAN_ORT_SPIN"
	// TF32Env overrides TF32 ("1"/"on"/"true"/"yes" or "0"/"off"/"false"/"no").
	TF32Env = "TGAN_CUDA_TF32"
	// ProfileEnv, when set, overrides ProfilePrefix: every session writes
	// its profile under this path prefix.
	ProfileEnv = "TGAN_ORT_PROFILE"
	// FuseEnv overrides Fuse ("0"/"off"/"false"/"no" runs a tgan file as it
	// is, for debugging and for measuring the standard form; "1"/"on"/...
	// asks for the fused form).
	FuseEnv = "TGAN_ORT_FUSE"
)

// ApplyEnv returns o with the environment's overrides applied. It is the
// one place where tgan's ONNX Runtime sessions read the environment, and
// every session goes through it (NewSession, OpenSession, OpenModel,
// internal/lower). An override wins over the field the caller set; an
// unset or empty variable leaves the field alone:
//
//	TGAN_ORT_SPIN=0|1    Spinning
//	TGAN_CUDA_TF32=1|0   TF32
//	TGAN_ORT_PROFILE=P   ProfilePrefix = P
//	TGAN_ORT_FUSE=0|1    Fuse
//
// "0", "off", "false" and "no" turn a switch off, "1", "on", "true" and
// "yes" on (any case); another value is an error naming the variable.
func ApplyEnv(o SessionOptions) (SessionOptions, error) {
	for _, sw := range []struct {
		env   string
		field *bool
	}{{SpinEnv, &o.Spinning}, {TF32Env, &o.TF32}, {FuseEnv, &o.Fuse}} {
		v, set, err := envSwitch(sw.env)
		if err != nil {
			return o, err
		}
		if set {
			*sw.field = v
		}
	}
	if p := os.Getenv(ProfileEnv); p != "" {
		o.ProfilePrefix = p
	}
	return o, nil
}

// envSwitch reads an on/off variable: its value, and whether it is set.
func envSwitch(name string) (on, set bool, err error) {
	switch v := strings.ToLower(strings.TrimSpace(os.Getenv(name))); v {
	case "":
		return false, false, nil
	case "0", "off", "false", "no":
		return false, true, nil
	case "1", "on", "true", "yes":
		return true, true, nil
	default:
		return false, false, fmt.Errorf("runtime: %s=%q: want 1 or 0 (on or off)", name, v)
	}
}

// Validate checks the fields: a known provider, a device id of 0 or more,
// a thread count of -1 or more.
func (o SessionOptions) Validate() error {
	switch o.Provider {
	case CPU, CUDA, Auto:
	default:
		return fmt.Errorf("runtime: unknown provider %q (want cpu, cuda or auto)", o.Provider)
	}
	if o.DeviceID < 0 {
		return fmt.Errorf("runtime: CUDA device id %d: must be 0 or more", o.DeviceID)
	}
	if o.IntraOpThreads < ORTDefaultThreads {
		return fmt.Errorf("runtime: %d intra-op threads: want 0 (all usable cores), -1 (ONNX Runtime's default) or a count", o.IntraOpThreads)
	}
	return nil
}

// Session is one ONNX Runtime session, created by [Env.NewSession] or
// [Env.OpenSession]. Run is not safe for concurrent use.
type Session struct {
	sess     *ort.DynamicAdvancedSession
	opts     SessionOptions // as applied: env overrides in, Provider resolved
	fallback string
	meta     map[string]string
}

// modelSource is a model file or its bytes.
type modelSource struct {
	path string
	data []byte
}

// read returns the model's bytes.
func (m modelSource) read() ([]byte, error) {
	if m.data != nil {
		return m.data, nil
	}
	return os.ReadFile(m.path)
}

// NewSession creates a session for the ONNX model in data (a serialised
// ModelProto) with inputs in and outputs out, in that order for
// [Session.Run].
func (e *Env) NewSession(data []byte, in, out []string, o SessionOptions) (*Session, error) {
	return e.newSession(modelSource{data: data}, in, out, o)
}

// OpenSession is NewSession for the model file at path.
func (e *Env) OpenSession(path string, in, out []string, o SessionOptions) (*Session, error) {
	return e.newSession(modelSource{path: path}, in, out, o)
}

func (e *Env) newSession(src modelSource, in, out []string, o SessionOptions) (*Session, error) {
	o, err := ApplyEnv(o)
	if err != nil {
		return nil, err
	}
	if o.Provider == "" {
		o.Provider = CPU
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = UsableCores()
	}
	switch o.Provider {
	case CUDA:
		return e.createSession(src, in, out, o)
	case Auto:
		o.Provider = CUDA
		s, err := e.createSession(src, in, out, o)
		if err == nil {
			return s, nil
		}
		o.Provider = CPU
		s, cpuErr := e.createSession(src, in, out, o)
		if cpuErr != nil {
			return nil, cpuErr
		}
		s.fallback = err.Error()
		return s, nil
	default:
		return e.createSession(src, in, out, o)
	}
}

// createSession creates the session on o.Provider (CPU or CUDA).
//
// On CUDA every step is fatal and each error begins with "cuda provider:":
// AppendExecutionProviderCUDA alone only says "Failed to load shared
// library", and a session built after that silently runs on CPU; Update
// loads the provider at once and returns the precise reason (a missing
// libcublasLt.so.13, no driver, ...), so it is called first.
//
// The CUDA libraries install signal handlers without SA_ONSTACK, which
// makes the Go runtime abort on the next Ctrl+C ("non-Go code set up signal
// handler without SA_ONSTACK flag"). Every call that may initialise CUDA
// runs under GuardSignals, which restores Go's handlers afterwards.
func (e *Env) createSession(src modelSource, in, out []string, o SessionOptions) (*Session, error) {
	prefix := "create cpu session"
	if o.Provider == CUDA {
		prefix = "cuda provider"
	}
	so, err := e.ortOptions(o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	defer so.Destroy()
	data := src.data
	if o.Fuse {
		if fusedData := fusedForm(src, o.Provider); fusedData != nil {
			data = fusedData
		}
	}
	var sess *ort.DynamicAdvancedSession
	create := func() error {
		var err error
		if data != nil {
			sess, err = ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
		} else {
			sess, err = ort.NewDynamicAdvancedSession(src.path, in, out, so)
		}
		return err
	}
	if o.Provider == CUDA {
		err = GuardSignals(create)
	} else {
		err = create()
	}
	if err != nil {
		if o.Provider == CUDA {
			return nil, fmt.Errorf("cuda provider: create session: %w", err)
		}
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	s := &Session{sess: sess, opts: o}
	if s.meta, err = readMetadata(sess); err != nil {
		sess.Destroy()
		return nil, err
	}
	if o.Provider == CUDA {
		if err := refuseInt8(s.meta); err != nil {
			sess.Destroy()
			return nil, err
		}
	}
	return s, nil
}

// sessionConfig are the session config entries every session gets: none
// at present. ONNX Runtime's "session.set_denormal_as_zero" was measured
// and left out: a v1 generator's forward has no denormal values, with the
// official initialisation or imported weights (testdata/ref/count_denormals.py),
// it gained nothing measurable, and ONNX Runtime also sets the flush mode
// on the thread that creates the process's first session, which in a Go
// program is whichever OS thread the goroutine happened to run on.
var sessionConfig = map[string]string{}

// spinKey is ONNX Runtime's session config entry for spinning.
const spinKey = "session.intra_op.allow_spinning"

// ortOptions builds ONNX Runtime's session options from o (env overrides
// already applied): every graph optimisation, the thread counts (one
// inter-op thread: the graphs run sequentially, the inter-op pool would
// only add threads competing with the intra-op ones), spinning, the CPU
// arena, profiling and, on CUDA, the provider with its device and TF32.
func (e *Env) ortOptions(o SessionOptions) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := configure(so, o); err != nil {
		so.Destroy()
		return nil, err
	}
	if o.Provider != CUDA {
		return so, nil
	}
	if err := e.appendCUDA(so, o); err != nil {
		so.Destroy()
		return nil, err
	}
	return so, nil
}

func configure(so *ort.SessionOptions, o SessionOptions) error {
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return fmt.Errorf("graph optimisation: %w", err)
	}
	if n := o.IntraOpThreads; n > 0 {
		if err := so.SetIntraOpNumThreads(n); err != nil {
			return fmt.Errorf("%d intra-op threads: %w", n, err)
		}
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return fmt.Errorf("inter-op threads: %w", err)
	}
	spin := "0"
	if o.Spinning {
		spin = "1"
	}
	if err := so.AddSessionConfigEntry(spinKey, spin); err != nil {
		return fmt.Errorf("spinning %s: %w", spin, err)
	}
	if err := so.SetCpuMemArena(o.CPUArena); err != nil {
		return fmt.Errorf("cpu arena %v: %w", o.CPUArena, err)
	}
	for k, v := range sessionConfig {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			return fmt.Errorf("config %s=%s: %w", k, v, err)
		}
	}
	if o.ProfilePrefix != "" {
		if err := so.EnableProfiling(o.ProfilePrefix); err != nil {
			return fmt.Errorf("profiling (prefix %s): %w", o.ProfilePrefix, err)
		}
	}
	return nil
}

// cudaProviderOptions are the CUDA provider options of o: the device, and
// TF32 as o says (tgan's sessions default to off: ONNX Runtime's CUDA
// provider enables TF32, which rounds the inputs of float32 products to 10
// mantissa bits on Ampere and newer cards).
func cudaProviderOptions(o SessionOptions) map[string]string {
	tf32 := "0"
	if o.TF32 {
		tf32 = "1"
	}
	return map[string]string{"device_id": strconv.Itoa(o.DeviceID), "use_tf32": tf32}
}

// appendCUDA adds the CUDA provider to so.
func (e *Env) appendCUDA(so *ort.SessionOptions, o SessionOptions) error {
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("create options: %w", err)
	}
	defer co.Destroy()
	if err := GuardSignals(func() error { return co.Update(cudaProviderOptions(o)) }); err != nil {
		return fmt.Errorf("device %d: %w (library %s)", o.DeviceID, err, e.lib)
	}
	if err := GuardSignals(func() error { return so.AppendExecutionProviderCUDA(co) }); err != nil {
		return fmt.Errorf("append to session: %w (library %s)", err, e.lib)
	}
	return nil
}

// refuseInt8 fails for a file with int8 weights (tgan export --int8): the
// CUDA provider has no DynamicQuantizeMatMul kernel (it is not in ONNX
// Runtime's published CUDA kernel table, docs/OperatorKernels.md), so ONNX
// Runtime would quietly run those nodes on the CPU, with copies between
// them, which a CUDA session must never do. (--provider auto then uses the
// CPU.)
func refuseInt8(meta map[string]string) error {
	if _, ok := meta[fused.KeyInt8]; ok {
		return errors.New("cuda provider: this file has int8 weights (tgan export --int8), a CPU form: run it with --provider cpu, or export the float32 file for CUDA")
	}
	return nil
}

// Run runs the session once: in and out in the order of the names the
// session was created with; a nil out entry is allocated by ONNX Runtime
// (the caller destroys it). On CUDA the run is guarded as session creation
// is (GuardSignals).
func (s *Session) Run(in, out []ort.Value) error {
	if s.sess == nil {
		return errors.New("runtime: session is closed")
	}
	if s.opts.Provider == CUDA {
		return GuardSignals(func() error { return s.sess.Run(in, out) })
	}
	return s.sess.Run(in, out)
}

// Provider is the provider the session runs on: CPU or CUDA, never Auto.
func (s *Session) Provider() Provider { return s.opts.Provider }

// FallbackReason is empty unless Auto was asked for and CUDA could not be
// enabled; then it says why, and Provider returns CPU.
func (s *Session) FallbackReason() string { return s.fallback }

// Options returns the options the session was created with, after the
// environment's overrides, with Provider resolved (CPU or CUDA) and
// IntraOpThreads 0 replaced by the count used.
func (s *Session) Options() SessionOptions { return s.opts }

// Fused is the target ("cpu" or "cuda") of the fused form the session runs
// (metadata key KeyFused), or "" for a standard graph.
func (s *Session) Fused() string { return s.meta[KeyFused] }

// Metadata returns the model's custom metadata (ONNX metadata_props) as
// the session runs it: the caller must not change the map.
func (s *Session) Metadata() map[string]string { return s.meta }

// Close releases the session; when profiling, ONNX Runtime writes the
// profile file now. Calling Close twice is harmless.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
