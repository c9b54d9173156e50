//go:build !linux

package lower

// The heap policy of heap_linux.go is glibc's; elsewhere the platform's
// allocator is left as it is, and ReturnFreedMemory does nothing.

// ReturnFreedMemory is glibc's malloc_trim after each run on Linux.
func ReturnFreedMemory(on bool) {}

func afterRun() {}
