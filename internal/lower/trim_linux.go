package lower

// #include <malloc.h>
import "C"

// releaseFreedMemory returns the C heap's free pages to the system. ONNX
// Runtime (without its arena) frees a run's intermediate tensors into
// glibc's per-thread heaps, which keep them; the trainer's sessions run one
// after another, so without this each one's leftovers add to the next one's
// peak.
func releaseFreedMemory() { C.malloc_trim(0) }
