//go:build !linux

package lower

// The heap policy of heap_linux.go is glibc's; elsewhere the platform's
// allocator is left as it is.
