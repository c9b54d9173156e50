//go:build !linux

package runtime

// GuardSignals runs f. Only Linux needs its signal handlers restored after
// CUDA initialisation; see signal_linux.go.
func GuardSignals(f func() error) error { return f() }
