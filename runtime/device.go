package runtime

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "device_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/tgan-dev/tgan/onnx"
)

// This file is the device shim: ONNX Runtime values that stay in a
// provider's memory across runs (host memory on the CPU provider, device
// memory on CUDA), the sessions that read and write them in place through
// an IoBinding, and the copies between them and Go. onnxruntime_go v1.27
// has IoBinding but no device memory info, no tensor allocated by a
// session's allocator, no BindOutputToDevice and no Synchronize calls, and
// its C-typed helpers cannot be called from another package. So the shim
// calls the C API itself, through the OrtApi table of the library Env has
// loaded (device_shim.c), as version.go does; it creates the sessions it
// serves ([Device.NewSession]), because the OrtSession* that a session
// from onnxruntime_go holds is unexported. That is about 30 table entries
// and no copied code; a fork of onnxruntime_go pinned by a replace
// directive would have carried 700 kB of someone else's sources (and its
// 370 kB header) for the same few calls.

// Memory names, as ONNX Runtime's OrtMemoryInfo does, the memory a device
// tensor lives in: its allocator name and device id.
type Memory struct {
	Name     string // MemoryCPU or MemoryCUDA
	DeviceID int
}

// The allocator names of ONNX Runtime's memory infos.
const (
	MemoryCPU  = "Cpu"
	MemoryCUDA = "Cuda"
)

// ProviderMemory is the memory of provider p's tensors: MemoryCUDA on the
// device for CUDA, MemoryCPU otherwise.
func ProviderMemory(p Provider, deviceID int) Memory {
	if p == CUDA {
		return Memory{Name: MemoryCUDA, DeviceID: deviceID}
	}
	return Memory{Name: MemoryCPU}
}

// cpuName is MemoryCPU for C, never freed.
var cpuName = C.CString(MemoryCPU)

// shimInit loads the OrtApi table once per process.
var shimInit struct {
	sync.Mutex
	done bool
}

// cerr turns a message from device_shim.c (freed here) into an error.
func cerr(what string, msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return fmt.Errorf("%s: %s", what, strings.TrimSpace(C.GoString(msg)))
}

// initShim finds the OrtApi table in lib, the library Env loaded: the
// loader hands out the copy already in the process.
func initShim(lib string) error {
	shimInit.Lock()
	defer shimInit.Unlock()
	if shimInit.done {
		return nil
	}
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	if err := cerr("runtime: device shim: "+lib, C.tgan_dev_init(clib, requiredAPI)); err != nil {
		return err
	}
	shimInit.done = true
	return nil
}

// Device is one provider's memory with what it takes to use it: the
// memory info, an allocator, and a one-node Identity session on that
// provider that owns the allocator and copies between Go and the device.
// Device tensors it allocates stay valid until Close, whichever sessions
// bind them.
type Device struct {
	env     *Env
	opts    SessionOptions
	mem     Memory
	ortEnv  unsafe.Pointer
	info    unsafe.Pointer
	copier  *BoundSession
	host    unsafe.Pointer // memory info of Go memory
	alloc   unsafe.Pointer
	tensors map[*Tensor]struct{}
}

// OpenDevice opens the memory of provider o.Provider (CPU or CUDA; Auto
// must be resolved by the caller) with o's session settings, which every
// session of NewSession also gets; mem overrides the provider's memory
// (ProviderMemory) when not zero. On CUDA, a library without the CUDA
// provider is an error that says so.
func (e *Env) OpenDevice(o SessionOptions, mem Memory) (*Device, error) {
	o, err := e.deviceOptions(o)
	if err != nil {
		return nil, err
	}
	if mem == (Memory{}) {
		mem = ProviderMemory(o.Provider, o.DeviceID)
	}
	if err := e.checkProvider(o.Provider); err != nil {
		return nil, err
	}
	if err := initShim(e.lib); err != nil {
		return nil, err
	}
	d := &Device{env: e, opts: o, mem: mem, tensors: map[*Tensor]struct{}{}}
	if err := d.open(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// deviceOptions applies the environment and the defaults as NewSession does.
func (e *Env) deviceOptions(o SessionOptions) (SessionOptions, error) {
	o, err := ApplyEnv(o)
	if err != nil {
		return o, err
	}
	if o.Provider == "" {
		o.Provider = CPU
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	if o.Provider == Auto {
		return o, errors.New("runtime: device: provider auto must be resolved by the caller")
	}
	if o.IntraOpThreads == 0 {
		o.IntraOpThreads = UsableCores()
	}
	return o, nil
}

// checkProvider refuses CUDA on a library built without it, naming the
// library and what it has.
func (e *Env) checkProvider(p Provider) error {
	if p != CUDA {
		return nil
	}
	info, err := probeLibrary(e.lib)
	if err != nil {
		return fmt.Errorf("cuda provider: %w", err)
	}
	if !slices.Contains(info.providers, "CUDAExecutionProvider") {
		return fmt.Errorf("cuda provider: ONNX Runtime %s (%s) is built without CUDAExecutionProvider (it has %v): use the CUDA set of scripts/setup.sh --cuda",
			e.lib, info.version, info.providers)
	}
	return nil
}

// open takes a reference on ONNX Runtime's environment (the one
// onnxruntime_go created: CreateEnv returns the process's instance), makes
// the memory info, the copy session and its allocator.
func (d *Device) open() error {
	var env, info, alloc unsafe.Pointer
	if err := cerr("runtime: device: environment", C.tgan_dev_env(&env)); err != nil {
		return err
	}
	d.ortEnv = env
	name := C.CString(d.mem.Name)
	defer C.free(unsafe.Pointer(name))
	if err := cerr("runtime: device: memory info "+d.mem.String(), C.tgan_dev_memory_info(name, C.int(d.mem.DeviceID), &info)); err != nil {
		return err
	}
	d.info = info
	if err := cerr("runtime: device: host memory info", C.tgan_dev_memory_info(cpuName, 0, &info)); err != nil {
		return err
	}
	d.host = info
	model, err := copyModel()
	if err != nil {
		return err
	}
	if d.copier, err = d.NewSession(model); err != nil {
		return err
	}
	if err := cerr("runtime: device: allocator for "+d.mem.String(), C.tgan_dev_allocator(d.copier.sess, d.info, &alloc)); err != nil {
		return err
	}
	d.alloc = alloc
	return nil
}

// copyModel is y = Identity(x) on a 1-D float32 tensor of any length: run
// with x and y bound to tensors in different memories, ONNX Runtime copies
// between them (on CUDA, host to device or back).
func copyModel() ([]byte, error) {
	g := onnx.NewGraph("copy")
	x := g.Input("x", onnx.Batch)
	g.Output(x, "y", onnx.Batch)
	return (&onnx.Model{Graph: g}).Marshal()
}

// String is "Cpu:0" or "Cuda:1".
func (m Memory) String() string { return m.Name + ":" + strconv.Itoa(m.DeviceID) }

// Memory is where d's tensors live.
func (d *Device) Memory() Memory { return d.mem }

// Options are the session settings of d's sessions, defaults applied.
func (d *Device) Options() SessionOptions { return d.opts }

// guard runs f under GuardSignals on CUDA (see createSession).
func (d *Device) guard(f func() error) error {
	if d.opts.Provider == CUDA {
		return GuardSignals(f)
	}
	return f()
}

// Close frees every tensor d allocated, its copy session and its
// reference on the environment. Calling it twice is harmless.
func (d *Device) Close() error {
	for t := range d.tensors {
		t.Close()
	}
	if d.alloc != nil {
		C.tgan_dev_release_allocator(d.alloc)
		d.alloc = nil
	}
	var err error
	if d.copier != nil {
		err = d.copier.Close()
		d.copier = nil
	}
	for _, p := range []*unsafe.Pointer{&d.info, &d.host} {
		if *p != nil {
			C.tgan_dev_release_memory_info(*p)
			*p = nil
		}
	}
	if d.ortEnv != nil {
		C.tgan_dev_release_env(d.ortEnv)
		d.ortEnv = nil
	}
	return err
}
