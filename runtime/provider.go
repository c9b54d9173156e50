package runtime

import (
	"fmt"
	"strings"
)

// Provider names an ONNX Runtime execution provider.
type Provider string

// The execution providers a session can ask for.
const (
	// CPU runs on ONNX Runtime's default CPU provider.
	CPU Provider = "cpu"
	// CUDA runs on an NVIDIA GPU. Any failure to enable it is an error.
	CUDA Provider = "cuda"
	// Auto tries CUDA and falls back to CPU, recording the reason.
	Auto Provider = "auto"
)

// ParseProvider parses a --provider flag value: "cpu", "cuda" or "auto".
// The empty string means CPU.
func ParseProvider(s string) (Provider, error) {
	switch p := Provider(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return CPU, nil
	case CPU, CUDA, Auto:
		return p, nil
	}
	return "", fmt.Errorf("runtime: unknown provider %q (want cpu, cuda or auto)", s)
}
