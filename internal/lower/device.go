package lower

import (
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/tgan-dev/tgan/runtime"
)

// Device keeps the state of a set of sessions (a trainer's graphs: the
// weights, Adam's moments, the EMA, the gradient and accumulation buffers)
// in one provider's memory (runtime.Device: device memory on CUDA), one
// tensor per Go buffer, shared by every session opened on it with OpenOn.
// A buffer becomes a device tensor the first time a session binds it (a
// state input, or an output bound to it), and its Go contents are copied
// in then; after that the sessions read and write the tensor in place and
// the Go buffer is stale until Download. Go writes into a state buffer
// (loading a checkpoint) must be followed by Upload.
type Device struct {
	env  *runtime.Env
	dev  *runtime.Device
	bufs map[*float32]*deviceBuf
	list []*deviceBuf // in creation order
	// dirty is set by every run: the tensors may differ from Go's buffers.
	dirty bool
}

// deviceBuf is one Go buffer's tensor, and its views by shape.
type deviceBuf struct {
	host  []float32
	t     *runtime.Tensor
	views map[string]*runtime.Tensor
}

// OpenDevice opens provider o.Provider's memory (CPU or CUDA) with the
// sessions' options o and the library at libPath (as OpenWith). mem
// overrides the provider's memory when not zero.
func OpenDevice(o runtime.SessionOptions, libPath string, mem runtime.Memory) (*Device, error) {
	if o.Provider == runtime.Auto {
		return nil, fmt.Errorf("lower: provider auto must be resolved by the caller")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	env, err := runtime.Open(runtime.Options{Provider: o.Provider, DeviceID: o.DeviceID, LibraryPath: libPath})
	if err != nil {
		return nil, err
	}
	dev, err := env.OpenDevice(o, mem)
	if err != nil {
		env.Close()
		return nil, err
	}
	return &Device{env: env, dev: dev, bufs: map[*float32]*deviceBuf{}}, nil
}

// Memory is where the state lives.
func (d *Device) Memory() runtime.Memory { return d.dev.Memory() }

// Options are the options every session on d runs with.
func (d *Device) Options() runtime.SessionOptions { return d.dev.Options() }

// tensor is buf's device tensor seen with shape: created (and filled from
// buf) on first sight.
func (d *Device) tensor(buf []float32, shape []int) (*runtime.Tensor, error) {
	if len(buf) == 0 || len(buf) != total(shape) {
		return nil, fmt.Errorf("state buffer of %d values for shape %v", len(buf), shape)
	}
	b := d.bufs[&buf[0]]
	if b == nil {
		t, err := d.dev.NewTensor(shape)
		if err != nil {
			return nil, err
		}
		if err := d.dev.Upload(t, buf); err != nil {
			t.Close()
			return nil, err
		}
		b = &deviceBuf{host: buf, t: t, views: map[string]*runtime.Tensor{}}
		d.bufs[&buf[0]], d.list = b, append(d.list, b)
	}
	if len(b.host) != len(buf) {
		return nil, fmt.Errorf("state buffer at %p seen with %d and %d values", unsafe.Pointer(&buf[0]), len(b.host), len(buf))
	}
	return b.view(d.dev, shape)
}

// view is b's tensor with shape (the tensor itself for its own shape).
func (b *deviceBuf) view(dev *runtime.Device, shape []int) (*runtime.Tensor, error) {
	if slices.Equal(shape, b.t.Shape()) {
		return b.t, nil
	}
	key := fmt.Sprint(shape)
	if v := b.views[key]; v != nil {
		return v, nil
	}
	v, err := dev.View(b.t, shape)
	if err != nil {
		return nil, err
	}
	b.views[key] = v
	return v, nil
}

// Download copies every state tensor into its Go buffer (for a
// checkpoint, or before Go runs the graphs itself); when no session ran
// since the last Download or Upload, the buffers are current and nothing
// is copied.
func (d *Device) Download() error {
	if !d.dirty {
		return nil
	}
	for _, b := range d.list {
		if err := d.dev.Download(b.t, b.host); err != nil {
			return fmt.Errorf("download state: %w", err)
		}
	}
	d.dirty = false
	return nil
}

// Upload copies every Go buffer into its state tensor (after Go wrote the
// buffers).
func (d *Device) Upload() error {
	for _, b := range d.list {
		if err := d.dev.Upload(b.t, b.host); err != nil {
			return fmt.Errorf("upload state: %w", err)
		}
	}
	d.dirty = false
	return nil
}

// Bytes is the size of the state held on d.
func (d *Device) Bytes() int {
	n := 0
	for _, b := range d.list {
		n += 4 * len(b.host)
	}
	return n
}

// Close frees the state tensors (without copying them back: Download
// first to keep them) and the device. Sessions opened on d must be closed
// first. Calling Close twice is harmless.
func (d *Device) Close() error {
	if d.dev == nil {
		return nil
	}
	err := d.dev.Close()
	d.dev, d.bufs, d.list = nil, nil, nil
	return errors.Join(err, d.env.Close())
}
