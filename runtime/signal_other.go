//go:build !linux

package runtime

// guardSignals runs f. Only Linux needs its signal handlers restored after
// CUDA initialisation; see signal_linux.go.
func guardSignals(f func() error) error { return f() }
