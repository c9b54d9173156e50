package runtime

/*
#include <stdlib.h>
#include "device_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"unsafe"
)

// Tensor is a float32 ONNX Runtime value that a [BoundSession] binds: in
// a [Device]'s memory ([Device.NewTensor], [Device.View]) or over Go
// memory ([Device.HostTensor]). It is not safe for concurrent use.
type Tensor struct {
	v     unsafe.Pointer
	shape []int
	dev   *Device
	host  []float32        // Go memory (nil: device memory)
	pin   goruntime.Pinner // keeps host where C expects it
	owner *Tensor          // for a view: the tensor that owns the memory
	data  unsafe.Pointer   // the first element (device or host address)
}

// Shape is the tensor's shape (the caller must not change it).
func (t *Tensor) Shape() []int { return t.shape }

// Len is the number of elements.
func (t *Tensor) Len() int { return total(t.shape) }

// OnDevice is true for a tensor in the device's memory, false for one over
// Go memory.
func (t *Tensor) OnDevice() bool { return t.host == nil }

// Close releases the value (and, for a tensor NewTensor allocated, its
// memory: views of it must not be used after). Calling Close twice is
// harmless; Device.Close closes what is left.
func (t *Tensor) Close() {
	if t.v == nil {
		return
	}
	C.tgan_dev_release_value(t.v)
	t.v = nil
	t.pin.Unpin()
	delete(t.dev.tensors, t)
}

// total is the element count of shape.
func total(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// dims64 converts a shape for C (never empty: a scalar is the 1-element
// array ONNX Runtime expects, with rank 0 passed separately).
func dims64(shape []int) []C.int64_t {
	out := make([]C.int64_t, len(shape)+1)
	for i, d := range shape {
		out[i] = C.int64_t(d)
	}
	return out
}

// NewTensor allocates a tensor of shape in d's memory with the device's
// allocator. Its contents are undefined until written (Upload, or a run
// that writes it).
func (d *Device) NewTensor(shape []int) (*Tensor, error) {
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	dims := dims64(shape)
	var v unsafe.Pointer
	if err := cerr("runtime: device tensor "+fmt.Sprint(shape), C.tgan_dev_tensor(d.alloc, &dims[0], C.size_t(len(shape)), &v)); err != nil {
		return nil, err
	}
	return d.track(&Tensor{v: v, shape: append([]int(nil), shape...), dev: d})
}

// View is a tensor over t's memory with another shape of the same size
// (a weight seen flat by one graph and shaped by another). It must not be
// used after t is closed.
func (d *Device) View(t *Tensor, shape []int) (*Tensor, error) {
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	if total(shape) != t.Len() {
		return nil, fmt.Errorf("runtime: view %v of a tensor of %v: sizes differ", shape, t.shape)
	}
	info := d.info
	if !t.OnDevice() {
		info = d.host
	}
	v, err := d.wrap(info, t.data, shape)
	if err != nil {
		return nil, err
	}
	owner := t
	if t.owner != nil {
		owner = t.owner
	}
	return d.track(&Tensor{v: v, shape: append([]int(nil), shape...), dev: d, host: t.host, owner: owner})
}

// HostTensor wraps Go memory as a tensor of shape, without copying: a run
// reads and writes data itself. data stays pinned until Close.
func (d *Device) HostTensor(shape []int, data []float32) (*Tensor, error) {
	if err := checkShape(shape); err != nil {
		return nil, err
	}
	if len(data) != total(shape) || len(data) == 0 {
		return nil, fmt.Errorf("runtime: host tensor %v over %d values", shape, len(data))
	}
	t := &Tensor{shape: append([]int(nil), shape...), dev: d, host: data}
	t.pin.Pin(&data[0])
	v, err := d.wrap(d.host, unsafe.Pointer(&data[0]), shape)
	if err != nil {
		t.pin.Unpin()
		return nil, err
	}
	t.v = v
	return d.track(t)
}

// wrap makes a value over memory at p in info's memory.
func (d *Device) wrap(info, p unsafe.Pointer, shape []int) (unsafe.Pointer, error) {
	dims := dims64(shape)
	var v unsafe.Pointer
	err := cerr("runtime: tensor over memory "+fmt.Sprint(shape),
		C.tgan_dev_view(info, p, C.size_t(4*total(shape)), &dims[0], C.size_t(len(shape)), &v))
	return v, err
}

// track reads t's data address and records t for Device.Close.
func (d *Device) track(t *Tensor) (*Tensor, error) {
	if err := cerr("runtime: tensor data", C.tgan_dev_data(t.v, &t.data)); err != nil {
		C.tgan_dev_release_value(t.v)
		t.pin.Unpin()
		return nil, err
	}
	d.tensors[t] = struct{}{}
	return t, nil
}

// checkShape refuses negative dimensions.
func checkShape(shape []int) error {
	for _, n := range shape {
		if n < 0 {
			return fmt.Errorf("runtime: tensor shape %v has a negative dimension", shape)
		}
	}
	return nil
}

// Upload copies src (t.Len() values) from Go into t.
func (d *Device) Upload(t *Tensor, src []float32) error {
	if len(src) != t.Len() {
		return fmt.Errorf("runtime: upload %d values into a tensor of %v", len(src), t.shape)
	}
	return d.copyFlat(src, t, true)
}

// Download copies t into dst (t.Len() values) in Go.
func (d *Device) Download(t *Tensor, dst []float32) error {
	if len(dst) != t.Len() {
		return fmt.Errorf("runtime: download a tensor of %v into %d values", t.shape, len(dst))
	}
	return d.copyFlat(dst, t, false)
}

// copyFlat copies between Go memory and t through the copy session:
// Identity with one side bound over Go memory and the other over t, both
// seen flat. ONNX Runtime moves the bytes (on the CPU provider a memcpy;
// on CUDA a copy to or from the device, synchronised before it returns).
func (d *Device) copyFlat(goMem []float32, t *Tensor, up bool) error {
	if len(goMem) == 0 {
		return nil
	}
	flat := []int{len(goMem)}
	host, err := d.HostTensor(flat, goMem)
	if err != nil {
		return err
	}
	defer host.Close()
	dev, err := d.View(t, flat)
	if err != nil {
		return err
	}
	defer dev.Close()
	in, out := host, dev
	if !up {
		in, out = dev, host
	}
	s := d.copier
	defer s.clear()
	if err := errors.Join(s.BindInput("x", in), s.BindOutput("y", out)); err != nil {
		return err
	}
	return s.Run()
}
