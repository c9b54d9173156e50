package runtime

/*
#include <stdlib.h>
#include "device_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// BoundSession is a session that runs through an IoBinding: its inputs
// and outputs are bound by name to tensors that stay bound from run to
// run (device tensors written in place, Go memory the caller refills), or
// an output to the device's memory, where ONNX Runtime allocates it
// ([BoundSession.BindOutputToDevice]). Created by [Device.NewSession] with
// the device's session settings; not safe for concurrent use.
type BoundSession struct {
	dev     *Device
	sess    unsafe.Pointer
	binding unsafe.Pointer
}

// NewSession creates a session for the ONNX model in data (a serialised
// ModelProto) on d's provider, with d's session settings.
func (d *Device) NewSession(data []byte) (*BoundSession, error) {
	if len(data) == 0 {
		return nil, errors.New("runtime: bound session: empty model")
	}
	o, free := d.cOptions()
	defer free()
	s := &BoundSession{dev: d}
	err := d.guard(func() error {
		msg := C.tgan_dev_session(d.ortEnv, unsafe.Pointer(&data[0]), C.size_t(len(data)), o, &s.sess)
		return cerr(d.sessionPrefix(), msg)
	})
	if err != nil {
		return nil, err
	}
	if err := cerr("runtime: io binding", C.tgan_dev_binding(s.sess, &s.binding)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sessionPrefix begins session errors as createSession's do: CUDA's with
// "cuda provider:".
func (d *Device) sessionPrefix() string {
	if d.opts.Provider == CUDA {
		return fmt.Sprintf("cuda provider: device %d: create session (library %s)", d.opts.DeviceID, d.env.lib)
	}
	return "create cpu session"
}

// cOptions are d's session settings for device_shim.c, with the function
// that frees their strings. They are those of session.go's configure and
// appendCUDA (training sessions have no fused form and no extra config
// entries: sessionConfig is empty).
func (d *Device) cOptions() (*C.tgan_dev_opts, func()) {
	o := d.opts
	var strs []*C.char
	cstr := func(s string) *C.char {
		p := C.CString(s)
		strs = append(strs, p)
		return p
	}
	co := (*C.tgan_dev_opts)(C.calloc(1, C.size_t(unsafe.Sizeof(C.tgan_dev_opts{}))))
	co.intra_threads = C.int(o.IntraOpThreads)
	co.spinning = cbool(o.Spinning)
	co.cpu_arena = cbool(o.CPUArena)
	if o.ProfilePrefix != "" {
		co.profile = cstr(o.ProfilePrefix)
	}
	if o.Provider == CUDA {
		cuda := cudaProviderOptions(o)
		co.cuda = 1
		co.device_id, co.use_tf32 = cstr(cuda["device_id"]), cstr(cuda["use_tf32"])
	}
	return co, func() {
		for _, p := range strs {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(co))
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// bind calls one of the shim's binding functions with name.
func (s *BoundSession) bind(what, name string, f func(*C.char) *C.char) error {
	if s.binding == nil {
		return errors.New("runtime: bound session is closed")
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return cerr(fmt.Sprintf("runtime: %s %s", what, name), f(cname))
}

// BindInput binds the input name to t until it is bound again: every run
// reads t's memory as it is then.
func (s *BoundSession) BindInput(name string, t *Tensor) error {
	return s.bind("bind input", name, func(n *C.char) *C.char { return C.tgan_dev_bind_input(s.binding, n, t.v) })
}

// BindOutput binds the output name to t: every run writes it into t's
// memory (which may be the memory of an input: an update in place).
func (s *BoundSession) BindOutput(name string, t *Tensor) error {
	return s.bind("bind output", name, func(n *C.char) *C.char { return C.tgan_dev_bind_output(s.binding, n, t.v) })
}

// BindOutputToDevice lets ONNX Runtime allocate the output name in the
// device's memory at each run; OutputsOnDevice returns it.
func (s *BoundSession) BindOutputToDevice(name string) error {
	return s.bind("bind output to "+s.dev.mem.String(), name, func(n *C.char) *C.char {
		return C.tgan_dev_bind_output_to_device(s.binding, n, s.dev.info)
	})
}

// Run runs the session once with what is bound, then waits for the
// outputs (SynchronizeOutputs): when it returns they are in their memory.
func (s *BoundSession) Run() error {
	if s.sess == nil {
		return errors.New("runtime: bound session is closed")
	}
	err := s.dev.guard(func() error { return cerr("runtime: run", C.tgan_dev_run(s.sess, s.binding)) })
	if err != nil {
		return err
	}
	return s.SynchronizeOutputs()
}

// SynchronizeInputs waits until the bound inputs are where the run reads
// them (a provider may copy them asynchronously).
func (s *BoundSession) SynchronizeInputs() error {
	return cerr("runtime: synchronise inputs", C.tgan_dev_sync_inputs(s.binding))
}

// SynchronizeOutputs waits until the last run's outputs are written.
func (s *BoundSession) SynchronizeOutputs() error {
	return cerr("runtime: synchronise outputs", C.tgan_dev_sync_outputs(s.binding))
}

// OutputsOnDevice returns the values of the last run's bound outputs, in
// the order they were bound: for BindOutputToDevice outputs, tensors that
// ONNX Runtime allocated in the device's memory. The caller closes them
// (Device.Close does otherwise).
func (s *BoundSession) OutputsOnDevice() ([]*Tensor, error) {
	var vals *unsafe.Pointer
	var n C.size_t
	if err := cerr("runtime: bound outputs", C.tgan_dev_bound_outputs(s.binding, &vals, &n)); err != nil {
		return nil, err
	}
	defer C.tgan_dev_free_bound(vals)
	var out []*Tensor
	for i, v := range unsafe.Slice(vals, int(n)) {
		t, err := s.dev.adopt(v)
		if err != nil {
			for _, v := range unsafe.Slice(vals, int(n))[i+1:] {
				C.tgan_dev_release_value(v)
			}
			for _, t := range out {
				t.Close()
			}
			return nil, fmt.Errorf("bound output %d: %w", i, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// adopt makes a Tensor of a value ONNX Runtime allocated in d's memory.
func (d *Device) adopt(v unsafe.Pointer) (*Tensor, error) {
	var dims [16]C.int64_t
	var rank C.size_t
	if err := cerr("runtime: tensor shape", C.tgan_dev_shape(v, &dims[0], 16, &rank)); err != nil {
		C.tgan_dev_release_value(v)
		return nil, err
	}
	t := &Tensor{v: v, dev: d, shape: []int{}}
	for _, n := range dims[:rank] {
		t.shape = append(t.shape, int(n))
	}
	return d.track(t)
}

// clear unbinds everything (the copy session, between copies).
func (s *BoundSession) clear() { C.tgan_dev_clear(s.binding) }

// Close releases the session. Tensors bound to it stay valid. Calling
// Close twice is harmless.
func (s *BoundSession) Close() error {
	if s.binding != nil {
		C.tgan_dev_release_binding(s.binding)
		s.binding = nil
	}
	if s.sess != nil {
		C.tgan_dev_release_session(s.sess)
		s.sess = nil
	}
	return nil
}
