package trainer

import (
	"fmt"

	"github.com/tgan-dev/tgan/internal/lower"
	"github.com/tgan-dev/tgan/runtime"
)

// SetORTDevice chooses the CUDA device of the ONNX Runtime executor's
// sessions (tgan train --device; default 0) for the next UseExecutor with
// provider cuda or auto.
func (t *Trainer) SetORTDevice(id int) error {
	if id < 0 {
		return fmt.Errorf("CUDA device id %d: must be 0 or more", id)
	}
	t.ortDevice = id
	return nil
}

// ortSessionOptions are the options of the executor's sessions on p: the
// training defaults (runtime.TrainingSessionOptions) on the chosen device.
func (t *Trainer) ortSessionOptions(p runtime.Provider) runtime.SessionOptions {
	o := runtime.TrainingSessionOptions(p)
	o.DeviceID = t.ortDevice
	return o
}

// SetORTDeviceState makes the ONNX Runtime executor opened by the next
// UseExecutor on the CPU provider keep the training state (weights,
// Adam's moments, the EMA, gradient and accumulation buffers) in tensors
// of the provider's memory, bound in place through the device shim
// (lower.Device, runtime.Device), as it always does on CUDA; off (the
// default), the CPU provider reads and writes Go's own buffers. Both give
// the same numbers bit for bit; this exercises the CUDA path on a CPU.
func (t *Trainer) SetORTDeviceState(on bool) { t.ortDeviceState = on }

// openStateDevice opens the memory the executor keeps the state in: the
// device's on CUDA, host memory on the CPU when SetORTDeviceState asked.
func (t *Trainer) openStateDevice() error {
	st := t.ort
	if st.provider != runtime.CUDA && !t.ortDeviceState {
		return nil
	}
	d, err := lower.OpenDevice(t.ortSessionOptions(st.provider), st.libPath, runtime.Memory{})
	if err != nil {
		return fmt.Errorf("training state memory: %w", err)
	}
	st.device = d
	return nil
}

// SyncWeights copies the state that the executor keeps in device memory
// back into the Trainer's Go tensors (Gen, AvgGen, Dis, SR, Adam's
// moments, the pending gradient sum): Checkpoint calls it, and so must
// anything else that reads them between steps (evaluation). Otherwise the
// Go tensors are the state and it does nothing.
func (t *Trainer) SyncWeights() error {
	if t.ort == nil {
		return nil
	}
	return t.ort.pull()
}

// pull copies the device state into Go (nothing without a device).
func (st *ortState) pull() error {
	if st.device == nil {
		return nil
	}
	return st.device.Download()
}

// pushState copies Go's state into the device after Go wrote it
// (LoadWeights).
func (t *Trainer) pushState() error {
	if t.ort == nil || t.ort.device == nil {
		return nil
	}
	return t.ort.device.Upload()
}
