package trainer

import (
	"fmt"

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
