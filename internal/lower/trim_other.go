//go:build !linux

package lower

func releaseFreedMemory() {}
