package runtime

import (
	"github.com/tgan-dev/tgan/onnx/fused"
)

// KeyFused is the metadata key that a session running the fused form of a
// tgan file carries (Model.MetadataValue, Session.Fused): "cpu" or "cuda".
const KeyFused = fused.KeyFused

// fusedForm returns the fused form of the model for p (SessionOptions.Fuse),
// or nil to run it as it is: a file that is not a tgan export, one already
// fused, or one whose graph does not match its tgan.config (errors reading
// it are left to ONNX Runtime to report).
func fusedForm(src modelSource, p Provider) []byte {
	target := fused.CPU
	if p == CUDA {
		target = fused.CUDA
	}
	data, err := src.read()
	if err != nil {
		return nil
	}
	out, _, err := fused.Bytes(data, fused.Options{Target: target})
	if err != nil {
		return nil
	}
	return out
}
