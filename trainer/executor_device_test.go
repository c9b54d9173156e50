package trainer

import (
	"testing"

	"github.com/tgan-dev/tgan/runtime"
)

// TestORTDevice: the device chosen for the ONNX Runtime executor reaches
// its session options (the training defaults otherwise), and a negative
// id is refused.
func TestORTDevice(t *testing.T) {
	tr := &Trainer{}
	if err := tr.SetORTDevice(-1); err == nil {
		t.Error("device -1 accepted")
	}
	if err := tr.SetORTDevice(3); err != nil {
		t.Fatal(err)
	}
	want := runtime.TrainingSessionOptions(runtime.CUDA)
	want.DeviceID = 3
	if got := tr.ortSessionOptions(runtime.CUDA); got != want {
		t.Errorf("session options %+v, want %+v", got, want)
	}
}
