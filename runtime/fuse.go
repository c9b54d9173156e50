package runtime

import (
	"os"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tgan-dev/tgan/exporter/fused"
)

// FuseEnv names the environment variable that turns off the rewrite of tgan
// files into ONNX Runtime's fused attention form when a session is created
// ("0", "off" or "false"), for debugging and for measuring the standard
// form.
const FuseEnv = "TGAN_ORT_FUSE"

// KeyFused is the metadata key that a session running the fused form of a
// tgan file carries (Model.MetadataValue): "cpu" or "cuda".
const KeyFused = fused.KeyFused

// createSession creates the session for the file at path on provider p.
// A tgan export runs in its fused form for p (package fused: one
// MultiHeadAttention per block, SkipLayerNormalization); any other file,
// one already fused, or one whose graph does not match its tgan.config
// runs as it is.
func createSession(path string, p Provider, in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
	if data := fusedForm(path, p); data != nil {
		return ort.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
	}
	return ort.NewDynamicAdvancedSession(path, in, out, so)
}

// fusedForm returns the fused form of the file for p, or nil to use the
// file as it is (errors reading it are left to ONNX Runtime to report).
func fusedForm(path string, p Provider) []byte {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(FuseEnv))) {
	case "0", "off", "false", "no":
		return nil
	}
	target := fused.CPU
	if p == CUDA {
		target = fused.CUDA
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out, _, err := fused.Bytes(data, fused.Options{Target: target})
	if err != nil {
		return nil
	}
	return out
}
