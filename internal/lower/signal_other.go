//go:build !linux

package lower

// guardSignals runs f; only Linux needs its handlers restored after CUDA
// initialisation (signal_linux.go).
func guardSignals(f func() error) error { return f() }
