package lower

// #include <malloc.h>
// #include <stdlib.h>
// #include <string.h>
//
// // tgan_keep_freed_memory runs when the binary is loaded, before the Go
// // runtime starts its threads: an arena limit set later would not merge
// // the arenas those threads have already made.
// __attribute__((constructor)) static void tgan_keep_freed_memory(void) {
// 	mallopt(M_ARENA_MAX, 1);
// 	mallopt(M_MMAP_THRESHOLD, 1 << 30);
// 	mallopt(M_TRIM_THRESHOLD, -1);
// }
import "C"
import "sync/atomic"

// The C constructor above sets the glibc heap policy of every process that
// links this package: one arena, blocks below 1 GiB served from the heap
// (a 32 MiB limit left half the page faults at batch 32) and no automatic
// trim (setting either threshold turns glibc's dynamic one off, so both
// are set).
//
// Why: a training iteration runs about ten ONNX Runtime sessions one after
// another, each freeing its intermediate tensors at the end of its run.
// With glibc's defaults ONNX Runtime's threads spread their tensors over
// several arenas and large tensors were mmapped afresh, so the memory one
// session freed was not where the next one allocated: without a trim after
// every run the peak grew with the number of sessions, and with it every
// run faulted its pages in anew (a third of the process's time was system
// time, 2.2 million minor faults for 20 G steps of the tiny preset). With
// one arena and the heap kept, each session reuses what the previous one
// freed; a run that leaves more than keptFreeLimit free still ends with a
// trim, so that large models keep their former peak. Benchmark iteration
// (BENCHMARKS.md, one-step section): cifar16 at batch 32, 1.07 instead of
// 4.74 s with 1.0 instead of 0.70 GiB peak RSS; s at batch 32 unchanged
// (about 35 s, 4.6 GiB).

// returnFreed is set by ReturnFreedMemory.
var returnFreed atomic.Bool

// ReturnFreedMemory makes every session hand the heap's free pages back to
// the system after each run (malloc_trim), the policy before the one
// above: the peak RSS is the largest single run's (cifar16 batch 32: 0.72
// instead of 1.0 GiB) and every run faults its pages in again (4.4x the
// time there). tgan train --low-memory sets it.
func ReturnFreedMemory(on bool) { returnFreed.Store(on) }

// keptFreeLimit bounds what the heap keeps free between runs: past it a
// run ends with a trim as under ReturnFreedMemory. The small models never
// reach it (cifar16 at batch 32 peaks at 1.0 GiB in all); without it the
// one arena's free chunks took the s preset at batch 32 from 4.6 to 7.8
// GiB peak RSS.
const keptFreeLimit = 1 << 30

// afterRun ends a run with a trim when ReturnFreedMemory asked for one or
// the heap keeps more than keptFreeLimit free.
func afterRun() {
	if returnFreed.Load() || C.mallinfo2().fordblks > keptFreeLimit {
		C.malloc_trim(0)
	}
}

// heapBytes is the size of the main arena's heap and of the blocks glibc
// serves by mmap (mallinfo2's arena and hblkhd): what the tests read to see
// the policy in force.
func heapBytes() (heap, mmapped int) {
	m := C.mallinfo2()
	return int(m.arena), int(m.hblkhd)
}

// cAllocFree mallocs n bytes, touches them and frees them (tests: cgo is
// not allowed in test files).
func cAllocFree(n int) {
	p := C.malloc(C.size_t(n))
	C.memset(p, 1, C.size_t(n))
	C.free(p)
}
